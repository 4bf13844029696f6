"""The package's layers (docs/architecture.md), read from its imports: no import
cycle between modules, and no import from a lower layer to a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: What each part of the package must never import (a prefix covers a package).
NEVER = {
    "schemas": ("workers",),
    "workers.stages": (
        "workers.pipeline",
        "workers.stream",
        "workers.stories",
        "workers.cli",
        "workers.demo",
        "workers.offline",
    ),
    "workers.stories": ("workers.stream", "workers.pipeline", "workers.cli", "workers.demo"),
    "workers.pipeline": ("workers.stream", "workers.stories", "workers.cli", "workers.demo"),
    "workers.dlq": ("workers.stream", "workers.pipeline", "workers.cli", "workers.stages"),
    "workers.settings": ("workers.stream", "workers.pipeline", "workers.cli", "workers.stages"),
    "workers.stream": ("workers.cli", "workers.demo"),
    # the Kafka side's rooms, from the bottom: the plain clients and operations, the
    # seam (Faust's patches, the commit protocol), the story steps, the worker on top;
    # the live page and the embedded broker stand beside them
    "workers.stream.kafka": (
        "workers.stream.seam",
        "workers.stream.stories",
        "workers.stream.worker",
        "workers.stream.live",
    ),
    "workers.stream.ops": (
        "workers.stream.kafka",
        "workers.stream.seam",
        "workers.stream.stories",
        "workers.stream.worker",
        "workers.stream.live",
    ),
    "workers.stream.seam": (
        "workers.stream.stories",
        "workers.stream.worker",
        "workers.stream.live",
    ),
    "workers.stream.stories": ("workers.stream.worker", "workers.stream.live"),
    "workers.stream.live": (
        "workers.stream.seam",
        "workers.stream.stories",
        "workers.stream.worker",
    ),
    "workers.stream.embedded": (
        "workers.stream.kafka",
        "workers.stream.ops",
        "workers.stream.seam",
        "workers.stream.stories",
        "workers.stream.worker",
        "workers.stream.live",
        "workers.pipeline",
        "workers.stages",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of ``workers`` and ``schemas``, and the modules of theirs it imports
    (at the top or inside a function: both run)."""
    paths = {module_name(p): p for d in ("workers", "schemas") for p in (ROOT / d).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            found.update(t for t in targets if t in paths and t != name)
        graph[name] = found
    return graph


def test_no_module_imports_itself_back_through_others() -> None:
    graph = imports()
    assert len(graph) > 50  # the walk found the package
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_import_points_up_a_layer() -> None:
    graph = imports()
    upward = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for part, forbidden in NEVER.items()
        if module == part or module.startswith(part + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    ]
    assert upward == []
    # the Kafka side is in rooms, with no module left loose in it
    loose = [p.name for p in (ROOT / "workers/stream").glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    # and the check sees an arrow where there is one
    assert "workers.stream.stories.steps" in graph["workers.stream.worker.app"]


#: A module past this many lines does more than one thing (the house limit is
#: about 500; the margin is for a docstring or an import, not for a new part).
MAX_LINES = 520


def test_no_module_is_much_over_500_lines() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for d in ("workers", "schemas")
        for p in (ROOT / d).rglob("*.py")
    }
    assert len(sizes) > 50
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
