"""Print the package-level import graph of app/ (every import, module- or function-level) and its cycles."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"


def package_of(module: str) -> str:
    """`app.crm.notes` -> `crm`; a top-level module such as `app.seed` is its own node."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "app"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    me = module_name(path)
    pkg_parts = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "app":
                found.update(f"app.{a.name}" for a in node.names)
            elif mod.startswith("app."):
                found.add(mod)
    return found


def graph() -> dict[str, dict[str, list[str]]]:
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(APP.rglob("*.py")):
        me = module_name(path)
        src = package_of(me)
        for target in imports_of(path):
            dst = package_of(target)
            if dst != src:
                edges[src][dst].append(f"{me} -> {target}")
    return edges


def cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    nodes = set(edges) | {d for e in edges.values() for d in e}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    edges = graph()
    verbose = "-v" in sys.argv
    n = 0
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            n += 1
            print(f"{src} -> {dst}  ({len(edges[src][dst])})")
            if verbose:
                for line in sorted(set(edges[src][dst])):
                    print(f"      {line}")
    comps = cycles(edges)
    print(f"\n{n} package edges; {len(comps)} cyclic component(s)")
    for comp in comps:
        print("  cycle among: " + ", ".join(comp))
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
