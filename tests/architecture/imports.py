"""The project's import graph, read statically (ast) from the source tree.

Every ``import``/``from ... import`` of a module under scanner/ or reports/ is an edge,
including imports inside functions (a lazy import is still a dependency). Relative imports
are resolved; ``from package import name`` is an edge to ``package.name`` when that is a
module, else to ``package``.
"""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scanner", "reports")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(importer: str, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = importer.split(".")
    if not modules()[importer].name == "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


@cache
def imports_of(name: str) -> frozenset[str]:
    """Every module (project or third-party top-level name) ``name`` imports."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):        # `if TYPE_CHECKING:` imports are for annotations only
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in modules() else base)
    return frozenset(out)


def project_edges(name: str) -> set[str]:
    """The project modules ``name`` imports (a package import also means its __init__)."""
    return {m for m in imports_of(name) if m in modules()}


def closure(name: str) -> set[str]:
    """Everything ``name`` imports, transitively (project modules and external names)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        m = todo.pop()
        for dep in imports_of(m):
            if dep not in seen:
                seen.add(dep)
                if dep in modules():
                    todo.append(dep)
                # importing a.b.c runs a/__init__ and a/b/__init__ too
                parts = dep.split(".")
                for i in range(1, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent in modules() and parent not in seen:
                        seen.add(parent)
                        todo.append(parent)
    return seen


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:       # Tarjan, iterative enough for this tree's depth
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(project_edges(v)):
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
            if len(comp) > 1 or v in project_edges(v):
                found.append(sorted(comp))

    for v in sorted(modules()):
        if v not in index:
            visit(v)
    return found
