"""Jinja templates: components/ plus each domain's templates/, rendered whole or by block."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

import msgspec
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2_fragments import render_block
from markupsafe import Markup

from app.core import clock, formats
from app.core.domain import DOMAIN_NAMES, NavEntry, Slot
from app.settings import ROOT


def _loaders() -> list[FileSystemLoader]:
    paths = [ROOT / "components"]
    paths += [ROOT / "app" / d / "templates" for d in ("core", *DOMAIN_NAMES)]
    return [FileSystemLoader(str(p)) for p in paths if Path(p).exists()]


env = Environment(
    loader=ChoiceLoader(_loaders()),
    autoescape=select_autoescape(["html", "xml"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.do"],
)
# in the reader's locale and time zone (app/core/formats.py); en-GB and UTC shown here
env.filters["amount"] = formats.format_amount  # {{ total|amount }} -> 12,500.00
env.filters["money"] = formats.format_money  # {{ total|money(currency) }} -> 12,500.00 EUR
env.filters["number"] = formats.format_number  # {{ count|number }} -> 1,234
env.filters["date"] = formats.format_date  # {{ day|date }} -> 31 Dec 2026
env.filters["datetime"] = formats.format_datetime  # {{ moment|datetime }} -> 31 Dec 2026, 18:05
env.filters["time"] = formats.format_time  # {{ moment|time }} -> 18:05
env.filters["local_time"] = clock.local_time  # {{ at|local_time(zone) }} -> 02 Dec 2026 14:30
env.filters["local_input"] = clock.local_input  # a datetime-local input's value


class Viewer(Protocol):
    """What the sidebar reads of the signed-in user (app.accounts.schemas.Current)."""

    @property
    def is_admin(self) -> bool: ...

    @property
    def is_staff(self) -> bool: ...


def render_html(template: str, context: Mapping[str, object], block: str | None = None) -> str:
    """Render a template, or just one named block of it (for htmx swaps and websocket pushes)."""
    if block is None:
        return env.get_template(template).render(context)
    return render_block(env, template, block, context)


# name -> (values, reader's prefs) -> rendered text; oldest dropped first past FRAGMENTS_KEPT
_fragments: dict[tuple[str, tuple[Hashable, ...], formats.Prefs], Markup] = {}
FRAGMENTS_KEPT = 2000


def fragment(name: str, macro: Callable[..., Markup], *values: Hashable) -> Markup:
    """`macro(*values)`, kept in process memory per (name, values, the reader's locale and time
    zone): for markup a page repeats many times over the same data (a board's cards). The
    values must be immutable (frozen structs, ids, numbers) and the macro must read nothing
    else but the format filters, so the kept text is exactly what rendering would give."""
    return _kept(name, macro, values, formats.current())


def fragments(
    name: str, macro: Callable[..., Markup], rows: Iterable[tuple[Hashable, ...]]
) -> Markup:
    """`fragment(name, macro, *values)` for each `values` of `rows`, joined: the many cards
    of a board in one call, without a template loop's cost per card (same text)."""
    prefs = formats.current()
    # every part is a macro's output, escaped when it was rendered: joined as it is
    return Markup("".join([_kept(name, macro, values, prefs) for values in rows]))  # noqa: S704


def _kept(
    name: str, macro: Callable[..., Markup], values: tuple[Hashable, ...], prefs: formats.Prefs
) -> Markup:
    key = (name, values, prefs)
    html = _fragments.get(key)
    if html is None:
        html = macro(*values)  # a macro's output is Markup already (autoescaped)
        if len(_fragments) >= FRAGMENTS_KEPT:
            del _fragments[next(iter(_fragments))]
        _fragments[key] = html
    return html


# name -> (the values' JSON, reader's prefs) -> rendered text: the parts of a page around its
# rows (a list's filter form, bulk bar, saved views), their own budget (rows do not push them out)
_parts: dict[tuple[str, bytes, formats.Prefs], Markup] = {}
PARTS_KEPT = 512
_encode_key = msgspec.json.Encoder().encode


def kept(name: str, macro: Callable[..., Markup], *values: object) -> Markup:
    """`macro(*values)` kept like `fragment`, for values that are not hashable (lists, dicts,
    structs holding them: a list's view, the workspace's people, its custom fields): kept
    per their JSON encoding, i.e. per the exact values shown, so a change to any of them (a
    member renamed, a view or a field added) is a new key, never stale text. The macro must
    read nothing but its arguments and the format filters; values of one `name` must keep
    their types (the encoding does not tell a date from its ISO text)."""
    prefs = formats.current()
    key = (name, _encode_key(values), prefs)
    html = _parts.get(key)
    if html is None:
        html = macro(*values)
        if len(_parts) >= PARTS_KEPT:
            del _parts[next(iter(_parts))]
        _parts[key] = html
    return html


# where a kept part prints the session's CSRF token: the part is kept once for every session,
# `|csrf(token)` puts the reader's token in (no database text holds a NUL)
CSRF_SLOT = "\x00odex-csrf\x00"


def with_csrf(html: Markup, token: str) -> Markup:
    """A kept part rendered with `CSRF_SLOT` for its token, with `token` (escaped) there."""
    return html.replace(CSRF_SLOT, token)  # Markup.replace escapes `token`


env.globals["fragment"] = fragment
env.globals["fragments"] = fragments
env.globals["kept"] = kept
env.globals["csrf_slot"] = CSRF_SLOT
env.filters["csrf"] = with_csrf

# area -> the domains' templates for it (app.core.domain.Slot), filled by app.domains.load():
# shared layouts loop over an area and never name a domain's partial.
_SLOTS: dict[str, list[Slot]] = {}


class _Placed(Protocol):
    """A registered piece with its place among its neighbours (Slot, NavEntry)."""

    @property
    def order(self) -> int: ...


P = TypeVar("P", bound=_Placed)


def _place(registry: dict[str, list[P]], key: str, item: P) -> None:
    """Add `item` under `key` once (a domain loaded again adds nothing), kept in order."""
    placed = registry.setdefault(key, [])
    if item not in placed:
        placed.append(item)
        placed.sort(key=lambda p: p.order)


def add_slot(slot: Slot) -> None:
    """A domain's template for one layout area (at start-up)."""
    global _variances
    _place(_SLOTS, slot.area, slot)
    _area_reads.clear()
    _kept_areas.clear()
    _variances = None


# the `varies_by` of every slot rendered with the page's context (None: not listed yet)
_variances: list[Callable[[Mapping[str, Any]], Hashable]] | None = None


def slots_variance(scope: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """What every slot rendered with the page's context reads of the request (`varies_by`),
    in one tuple: part of the key of a page kept whole (app.core.web.render_with_parts)."""
    global _variances
    if _variances is None:
        _variances = [
            slot.varies_by
            for placed in _SLOTS.values()
            for slot in placed
            if slot.kept_by is None and slot.varies_by is not None
        ]
    return tuple([varies_by(scope) for varies_by in _variances])


# how many slots were rendered with the page's whole context without saying what of the
# request they read (`varies_by`): a page that rendered one is not kept whole (rendering is
# synchronous: the count read before and after one render is that render's)
_unkeepable_slots = 0


def unkeepable_slots() -> int:
    """The count of slots rendered that a page kept whole cannot hold (see `slots_variance`)."""
    return _unkeepable_slots


def slots(area: str) -> list[str]:
    """The templates of a layout area, in order (the layouts' `slots("header_actions")`)."""
    return [slot.template for slot in _SLOTS.get(area, ())]


env.globals["slots"] = slots

# (template, the values of its `kept_by` attributes of `current`) -> its rendered text
_kept_slots: dict[tuple[str, tuple[Hashable, ...]], str] = {}
KEPT_SLOTS_KEPT = 2000
# area -> the attributes of `current` its slots read when every one of them is kept, else None
_area_reads: dict[str, tuple[str, ...] | None] = {}
# (area, the values of those attributes) -> the area's rendered text
_kept_areas: dict[tuple[str, tuple[Hashable, ...]], Markup] = {}


@pass_context
def slots_html(context: Context, area: str) -> Markup:
    """The templates of a layout area rendered in order, as `{% include %}` of each would give
    them: a slot declared `kept_by` is kept per the values of those attributes of `current`
    (the header's buttons: a template include per button per page otherwise), any other is
    rendered with the page's whole context every time. An area of kept slots only is kept
    whole, per the values all its slots read (one look-up a page)."""
    if area not in _area_reads:
        placed = _SLOTS.get(area, ())
        _area_reads[area] = (
            None
            if any(slot.kept_by is None for slot in placed)
            else tuple(dict.fromkeys(name for slot in placed for name in slot.kept_by or ()))
        )
    reads = _area_reads[area]
    if reads is None:
        return Markup("".join([_slot_html(context, slot) for slot in _SLOTS.get(area, ())]))  # noqa: S704
    current = context.get("current")
    key = (area, tuple(getattr(current, name) for name in reads))
    html = _kept_areas.get(key)
    if html is None:
        # each slot's own text: rendered with (and kept per) only what it declares
        html = Markup("".join([_slot_html(context, slot) for slot in _SLOTS.get(area, ())]))  # noqa: S704
        if len(_kept_areas) >= KEPT_SLOTS_KEPT:
            del _kept_areas[next(iter(_kept_areas))]
        _kept_areas[key] = html
    return html


def _slot_html(context: Context, slot: Slot) -> str:
    """One slot's text, as `{% include %}` in the page would give it (autoescaped already)."""
    global _unkeepable_slots
    if slot.kept_by is None:
        if slot.varies_by is None:
            _unkeepable_slots += 1
        # as `{% include %}` does: the page's context shared, not copied with the globals
        template = env.get_template(slot.template)
        return "".join(template.root_render_func(template.new_context(context.get_all(), True)))
    current = context.get("current")
    values = tuple(getattr(current, name) for name in slot.kept_by)
    key = (slot.template, values)
    html = _kept_slots.get(key)
    if html is None:
        # only the declared values in reach: a read of anything else is StrictUndefined
        reads = SimpleNamespace(**dict(zip(slot.kept_by, values, strict=True)))
        html = env.get_template(slot.template).render(current=reads)
        if len(_kept_slots) >= KEPT_SLOTS_KEPT:
            del _kept_slots[next(iter(_kept_slots))]
        _kept_slots[key] = html
    return html


env.globals["slots_html"] = slots_html

_NAV: dict[str, list[NavEntry]] = {}


def add_nav(entry: NavEntry) -> None:
    """A domain's sidebar link (at start-up)."""
    _place(_NAV, entry.section, entry)
    _sidebars.clear()
    _path_links.clear()


def nav(section: str, current: Viewer) -> list[NavEntry]:
    """The sidebar links of a section that `current` (app.accounts.schemas.Current) may see."""
    return [
        entry
        for entry in _NAV.get(section, ())
        if entry.audience == "member"
        or (entry.audience == "admin" and current.is_admin)
        or (entry.audience == "staff" and current.is_staff)
    ]


def nav_paths(section: str) -> list[str]:
    """Every link of a section (the sidebar opens the group holding the page shown)."""
    return [entry.href for entry in _NAV.get(section, ())]


env.globals["nav"] = nav
env.globals["nav_paths"] = nav_paths


def _active(href: str, path: str) -> bool:
    """Whether `path` shows `href` as the page shown (ui.nav_link's own test)."""
    return path == href or (href != "/app" and path.startswith(href))


# path -> (the link it is, the links it makes active): read of the registry alone
_path_links: dict[str, tuple[str | None, tuple[str, ...]]] = {}
PATH_LINKS_KEPT = 2000
# (admin, staff, the links `path` is, the links it makes active) -> the sidebar's links
_sidebars: dict[tuple[bool, bool, str | None, tuple[str, ...]], Markup] = {}
SIDEBARS_KEPT = 256


def sidebar_nav(current: Viewer, path: str) -> Markup:
    """The sidebar's links (layout/_sidebar_nav.html), rendered once per viewer audience and
    per what `path` changes in them (which links are active, which group is open), instead
    of a macro call per link on every page: the links read nothing else (no names, no
    formats), and the registry changes only at start-up (which forgets them)."""
    links = _path_links.get(path)
    if links is None:
        hrefs = [entry.href for entries in _NAV.values() for entry in entries]
        links = (
            path if path in hrefs else None,  # an exact link: its group opens
            tuple(href for href in hrefs if _active(href, path)),
        )
        if len(path) <= 200:  # a page's path, not any long address a visitor makes up
            if len(_path_links) >= PATH_LINKS_KEPT:
                del _path_links[next(iter(_path_links))]
            _path_links[path] = links
    key = (bool(current.is_admin), bool(current.is_staff), *links)
    html = _sidebars.get(key)
    if html is None:
        macro = env.get_template("layout/_sidebar_nav.html").module.sidebar_nav  # type: ignore[attr-defined]
        html = Markup(macro(current, path))  # noqa: S704 (a macro's output: escaped already)
        if len(_sidebars) >= SIDEBARS_KEPT:
            del _sidebars[next(iter(_sidebars))]
        _sidebars[key] = html
    return html


# The UI macros are a global, so a block rendered on its own (htmx swap, websocket push) sees
# them just like the full page does (the layouts use it without an `import` of their own, which
# costs every page a set difference of the globals' names per import).
env.globals["ui"] = env.get_template("ui/macros.html").make_module()
env.globals["sidebar_nav"] = sidebar_nav
