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
    for _ in range(2):  # cold, then kept
        for viewer in viewers:
            for path in paths:
                kept = str(templating.sidebar_nav(viewer, path))
                assert kept == str(fresh(viewer, path)), (viewer, path)
                if not viewer.is_admin:
                    assert not any(f'href="{href}"' in kept for href in admin_only)
    assert len(templating._sidebars) <= templating.SIDEBARS_KEPT
