"""The code's shape: no module imports another module's private (`_name`) helpers, and none
reads a private attribute of another package's module (`db._scope`).

(Import cycles and upward imports are import-linter's, in `make lint`; see pyproject.toml.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
APP = ROOT / "app"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    """The domain a module belongs to: `app.crm.notes` -> `app.crm`; `app.seed` -> itself."""
    return ".".join(module.split(".")[:2])


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def reach_ins(source: str, me: str, *, is_package: bool = False) -> list[str]:
    """In module `me` (its text `source`): `from app.x.y import _name` from any other module,
    and `module._name` on a module imported from another package."""
    here = me if is_package else me.rpartition(".")[0]
    tree = ast.parse(source, me)
    found: list[str] = []
    foreign_modules: dict[str, str] = {}  # local name -> a module of another package
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if not origin.startswith("app") or origin == me:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{me}:{node.lineno} imports {origin}.{alias.name}")
                elif _package(origin) != _package(me) and _is_module(f"{origin}.{alias.name}"):
                    foreign_modules[alias.asname or alias.name] = f"{origin}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                foreign = alias.name.startswith("app.") and _package(alias.name) != _package(me)
                if alias.asname and foreign:
                    foreign_modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in foreign_modules
            and _private(node.attr)
        ):
            found.append(f"{me}:{node.lineno} reads {foreign_modules[node.value.id]}.{node.attr}")
    return found


def test_no_private_reach_ins() -> None:
    found = [
        hit
        for path in sorted(APP.rglob("*.py"))
        for hit in reach_ins(
            path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
        )
    ]
    assert not found, "private helpers used from another module:\n" + "\n".join(found)


def test_the_scan_sees_reach_ins() -> None:
    """The check itself: private imports (across and within a package) and a private attribute
    of another package's module are caught; a module's own privates and public names are not."""
    probe = (
        "from app.crm.web import _helper\n"
        "from .services import _end\n"
        "from app.core import db\n"
        "from app.crm.web import Req\n"
        "x = db._scope\n"
        "y = db.current_scope\n"
        "def _mine() -> None: ...\n"
        "_mine()\n"
    )
    hits = reach_ins(probe, "app.deals.probe")
    assert hits == [
        "app.deals.probe:1 imports app.crm.web._helper",
        "app.deals.probe:2 imports app.deals.services._end",
        "app.deals.probe:5 reads app.core.db._scope",
    ], hits
