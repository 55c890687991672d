"""The import graph of lossviz/: no circle, and every arrow points down the floors (issue 17).

The imports are read with ``ast`` from every module of lossviz/ (and pages/, app.py), including the ones
inside functions: an import deferred to break a circle is still a circle in the design. The floors are
the table :data:`FLOORS`, the same table as docs/ARCHITECTURE.md ("Rooms and arrows"): a module may
import from its own floor or any floor below, never from a floor above; a package on no floor fails
too, so a new package is placed deliberately.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Top to bottom. A unit is a package under lossviz/ (``lossviz.training``) or a top-level module
#: (``lossviz.theme``); ``pages`` and ``app`` are the screens. Keep in step with docs/ARCHITECTURE.md.
FLOORS: list[tuple[str, frozenset[str]]] = [
    ("screens", frozenset({"app", "pages"})),
    ("command line", frozenset({"lossviz.__main__", "lossviz.cli"})),
    ("rooms a reader visits", frozenset({
        "lossviz.classroom", "lossviz.explore", "lossviz.landscape", "lossviz.weightspace",
    })),
    ("training", frozenset({"lossviz.training"})),
    ("losses", frozenset({"lossviz.losses"})),
    ("figure pieces both landscapes share", frozenset({"lossviz.plots"})),
    ("ground", frozenset({
        "lossviz", "lossviz.errors", "lossviz.i18n", "lossviz.memory", "lossviz.session", "lossviz.theme",
    })),
]
FLOOR_OF = {unit: i for i, (_, units) in enumerate(FLOORS) for unit in units}

#: Circles known today, each to be removed by the branch named in its key. The lead deletes the entry
#: after merging that branch; :func:`test_every_allowed_circle_still_exists` fails once the circle is
#: gone, so a stale entry cannot hide a new circle between the same modules.
ALLOWED_CIRCLES: list[frozenset[str]] = []  # none: the landscape elements <-> engine circle is closed


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*(ROOT / "lossviz").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py"]
    return {_module_name(p): p for p in sorted(files) if p.is_file()}


SOURCES = _sources()


def imports_of(source: str, module: str, known: set[str] | frozenset[str]) -> set[str]:
    """The project modules ``source`` (the module ``module``) imports, anywhere in the file.

    ``from a.b import c`` counts ``a.b`` (its face), or ``a.b.c`` alone when ``c`` is itself a module
    (a sibling module named through its package); a relative import is resolved against ``module``.
    """
    out: set[str] = set()
    package = module if module in known and _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known}
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(base)  # a name from the package's face (importing only submodules skips the face)
    return {m for m in out if m in known}


def _is_package(module: str) -> bool:
    path = SOURCES.get(module)
    return path is not None and path.name == "__init__.py"


def graph() -> dict[str, set[str]]:
    known = set(SOURCES)
    return {m: imports_of(p.read_text(), m, known) - {m} for m, p in SOURCES.items()}


def unit_of(module: str) -> str:
    """``lossviz.training.jobs`` -> ``lossviz.training``; ``lossviz.theme`` -> itself; pages.* -> pages."""
    parts = module.split(".")
    if parts[0] in ("pages", "app"):
        return parts[0]
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
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
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def upward_arrows(g: dict[str, set[str]]) -> list[str]:
    """Each import from a lower floor to a higher one (a smaller index in :data:`FLOORS`)."""
    bad = []
    for a, targets in sorted(g.items()):
        for b in sorted(targets):
            fa, fb = FLOOR_OF.get(unit_of(a)), FLOOR_OF.get(unit_of(b))
            if fa is not None and fb is not None and fb < fa:
                bad.append(f"{a} ({FLOORS[fa][0]}) imports {b} ({FLOORS[fb][0]})")
    return bad


def test_every_unit_has_a_floor() -> None:
    missing = sorted({unit_of(m) for m in SOURCES} - set(FLOOR_OF))
    assert not missing, f"put each in FLOORS here and in docs/ARCHITECTURE.md: {missing}"


def test_no_arrow_points_up_the_floors() -> None:
    bad = upward_arrows(graph())
    assert not bad, "\n".join(bad)


def test_no_circle_of_imports() -> None:
    found = [c for c in circles(graph()) if frozenset(c) not in ALLOWED_CIRCLES]
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_floors_are_the_ones_in_the_architecture_document() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for name, units in FLOORS:
        assert name in doc, f"floor {name!r} is not in docs/ARCHITECTURE.md"
        for unit in units:
            assert f"`{unit.removeprefix('lossviz.').replace('.', '/')}" in doc or f"`{unit}" in doc, unit


# --------------------------------------------------------------------------- the checks can fail


def test_a_circle_and_an_upward_arrow_are_found() -> None:
    g = {
        "lossviz.losses.a": {"lossviz.training.jobs"},  # losses importing training: up
        "lossviz.training.jobs": {"lossviz.losses.a"},
        "lossviz.theme": set(),
    }
    assert circles(g) == [["lossviz.losses.a", "lossviz.training.jobs"]]
    assert upward_arrows(g) == ["lossviz.losses.a (losses) imports lossviz.training.jobs (training)"]
    assert upward_arrows({"lossviz.weightspace.slices": {"lossviz.training"}}) == []  # down: fine
    assert upward_arrows({"lossviz.training.x": {"lossviz.weightspace.slices"}})  # never back up


def test_imports_inside_functions_and_relative_ones_count() -> None:
    known = {"lossviz.landscape", "lossviz.landscape.engine", "lossviz.landscape.elements", "lossviz.training",
             "lossviz.training.data"}
    src = "def method():\n    from lossviz.landscape.engine import route\n    return route\n"
    assert imports_of(src, "lossviz.landscape.elements", known) == {"lossviz.landscape.engine"}
    assert imports_of("from .engine import route", "lossviz.landscape.elements", known) == {"lossviz.landscape.engine"}
    assert imports_of("from . import engine", "lossviz.landscape.elements", known) == {"lossviz.landscape.engine"}
    assert imports_of("from lossviz.training import data", "lossviz.explore.lessons", known) == {
        "lossviz.training.data"}
    assert imports_of("from lossviz.training import data, build_model", "lossviz.explore.lessons", known) == {
        "lossviz.training", "lossviz.training.data"}
