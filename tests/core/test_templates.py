"""Templates: a block that htmx or a push renders on its own must not rely on names that are
imported or set outside it (jinja2-fragments renders the block alone: they'd be undefined)."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import nodes

from app.core.templating import env

LAYOUTS = ("layout/base.html", "layout/app.html", "layout/auth.html")


def _defined(tree: nodes.Node) -> set[str]:
    """Names a (part of a) template imports, sets or defines as a macro."""
    names: set[str] = set()
    for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Assign, nodes.Macro)):
        if isinstance(node, nodes.Import):
            names.add(node.target)
        elif isinstance(node, nodes.FromImport):
            names.update(n if isinstance(n, str) else n[1] for n in node.names)
        elif isinstance(node, nodes.Macro):
            names.add(node.name)
        else:
            names.update(n.name for n in node.target.find_all(nodes.Name))
    return names


def _layout_blocks() -> set[str]:
    """Blocks of the page layouts: always rendered inside the whole page."""
    blocks: set[str] = set()
    for name in LAYOUTS:
        tree = env.parse(env.loader.get_source(env, name)[0])  # type: ignore[union-attr]
        blocks.update(b.name for b in tree.find_all(nodes.Block))
    return blocks


def test_blocks_rendered_alone_define_what_they_use() -> None:
    layout = _layout_blocks()
    problems = []
    checked = 0
    for name in env.list_templates(extensions=["html"]):
        tree = env.parse(env.loader.get_source(env, name)[0])  # type: ignore[union-attr]
        outside = {
            n
            for node in tree.body
            if not isinstance(node, nodes.Block)
            for n in _defined(nodes.Template([node]))
        } - set(env.globals)
        for block in tree.find_all(nodes.Block):
            if block.name in layout:
                continue
            checked += 1
            inside = _defined(block) | {
                n.name for n in block.find_all(nodes.Name) if n.ctx in ("store", "param")
            }
            used = {n.name for n in block.find_all(nodes.Name) if n.ctx == "load"}
            missing = (used & outside) - inside
            if missing:
                problems.append(f"{name} block {block.name!r} uses {sorted(missing)}")
    assert checked > 10
    assert not problems, "\n".join(problems)


def test_an_element_that_selects_its_part_of_a_page_passes_nothing_down() -> None:
    """htmx inherits hx-select (and hx-target, hx-swap) into every child: a button inside an
    `hx-select="#alert-list"` list would filter its own reply through that selector and swap
    its card with nothing (the alert card vanished when the reply beat the websocket push).
    Every element with hx-select says hx-disinherit="*"."""
    app_dir = Path(__file__).resolve().parents[2] / "app"
    missing = []
    for path in app_dir.rglob("*.html"):
        for tag in re.findall(r"<[a-zA-Z][^<>]*\bhx-select=[^<>]*>", path.read_text()):
            if 'hx-disinherit="*"' not in tag:
                missing.append(f"{path.relative_to(app_dir)}: {tag[:120]}")
    assert not missing, "\n".join(missing)


def test_kept_sidebar_links_are_what_rendering_gives_for_each_viewer_and_page() -> None:
    """`sidebar_nav` keeps the links per viewer audience and per the links a path makes active
    or open: whatever was kept first (an admin's, staff's, another page's), each viewer on
    each page gets exactly the links a fresh render gives them (no admin link for a member)."""
    from dataclasses import dataclass

    from app import domains
    from app.core import templating

    domains.load()

    @dataclass(frozen=True)
    class Viewer:
        is_admin: bool
        is_staff: bool

    module = env.get_template("layout/_sidebar_nav.html").module
    fresh = module.sidebar_nav  # type: ignore[attr-defined]
    links = [e for entries in templating._NAV.values() for e in entries]
    admin_only = [e.href for e in links if e.audience == "admin"]
    assert admin_only
    paths = ["/app", "/zzz", *(e.href for e in links), *(e.href + "/x" for e in links)]
    viewers = [Viewer(a, s) for a in (True, False) for s in (True, False)]
    templating._sidebars.clear()
    templating._path_links.clear()
    for _ in range(2):  # cold, then kept
        for viewer in viewers:
            for path in paths:
                kept = str(templating.sidebar_nav(viewer, path))
                assert kept == str(fresh(viewer, path)), (viewer, path)
                if not viewer.is_admin:
                    assert not any(f'href="{href}"' in kept for href in admin_only)
    assert len(templating._sidebars) <= templating.SIDEBARS_KEPT


def test_kept_layout_slots_are_what_including_them_gives_for_each_viewer() -> None:
    """`slots_html` keeps the header's and the shell's slots per the values they declare
    (`kept_by`): whatever was kept first (an admin's, another workspace's), every viewer gets
    the page that including each slot on every request gives (the layouts as they were), with
    the per-request banners (cookie, policy) and toasts still rendered each time; no admin
    button for a member, no other workspace's bell."""
    import datetime
    from types import SimpleNamespace
    from uuid import uuid4

    from jinja2 import ChoiceLoader, DictLoader

    from app import domains
    from app.core import templating

    domains.load()
    included = {}  # the layouts with each slot included on every request
    for name in ("layout/base.html", "layout/app.html"):
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        for area in ("body_top", "app_top", "header_actions"):
            loop = '{% for slot in slots("AREA") %}{% include slot %}{% endfor %}'
            loop = loop.replace("AREA", area)
            call = '{{ slots_html("AREA") }}'.replace("AREA", area)
            source = source.replace(call[:-2] + "-}}\n", loop + "\n").replace(call, loop)
        assert "slots_html" not in source
        included[name] = source
    fresh_env = env.overlay(loader=ChoiceLoader([DictLoader(included), env.loader]))  # type: ignore[list-item]
    assert any(s.kept_by is not None for area in templating._SLOTS.values() for s in area)

    tenants = [uuid4(), uuid4()]
    viewers = [
        SimpleNamespace(
            tenant_id=tenant, tenant_name=f"Acme <{n}>", user_id=uuid4(), name=f"Ann {n}",
            email=f"ann{n}@example.com", role="admin" if admin else "member", is_admin=admin,
            is_staff=False, verified=verified,
        )
        for n, (tenant, admin, verified) in enumerate(
            (t, a, v) for t in tenants for a in (True, False) for v in (True, False)
        )
    ]  # fmt: skip
    notice = SimpleNamespace(
        effective_at=datetime.date(2027, 1, 1), summary="New <b>terms</b>", version=3
    )
    privacies = [
        None,
        SimpleNamespace(consent=None, policy_notice=None),
        SimpleNamespace(consent="accept", policy_notice=notice),
    ]
    templating._kept_slots.clear()
    templating._kept_areas.clear()
    for _ in range(2):  # cold, then kept
        for viewer in viewers:
            for privacy in privacies:
                ctx = {
                    "request": SimpleNamespace(scope={"odex.privacy": privacy}),
                    "csrf_token": f"csrf-{viewer.user_id}",
                    "flashes": [("success", "Saved <x>")],
                    "current": viewer,
                    "settings": SimpleNamespace(privacy_contact="privacy@example.com"),
                    "path": "/deals/board",
                    "here": "/deals/board?pipeline=1",
                }
                page = env.get_template("layout/app.html").render(ctx)
                assert page == fresh_env.get_template("layout/app.html").render(ctx)
                assert f"bell-{viewer.tenant_id}" in page
                assert f"bell-{tenants[1 - tenants.index(viewer.tenant_id)]}" not in page
                assert ('id="alerts-badge"' in page) == viewer.is_admin
                assert ('id="policy-banner"' in page) == bool(privacy and privacy.policy_notice)
    assert len(templating._kept_slots) <= templating.KEPT_SLOTS_KEPT
