"""The import rules of docs/architecture (DESIGN.md): one direction, no cycles.

pages -> components -> services -> models -> core; `app` wires them and only `main.py` (and
tests) import it; the simulator stands on its own. Every import counts, including the ones
inside functions: a deferred import hides a cycle, it does not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("core", "models", "services", "components", "pages", "app", "simulator")

# What each layer may import (besides itself).
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "services": {"models", "core"},
    "components": {"services", "models", "core"},
    "pages": {"components", "services", "models", "core"},
    "app": {"pages", "components", "services", "models", "core", "simulator"},
    "simulator": set(),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module of ours that `path` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import mod` imports the module pkg.mod when there is one.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in OURS)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for top in OURS for path in (ROOT / top).rglob("*.py")}
    return {
        name: {target for target in _imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_no_upward_import() -> None:
    wrong = [
        f"{source} imports {target}"
        for source, targets in _graph().items()
        for target in targets
        if target.split(".")[0] != source.split(".")[0]
        and target.split(".")[0] not in ALLOWED[source.split(".")[0]]
    ]
    assert wrong == []


def test_llm_adapters_import_no_other_domain() -> None:
    """services/llm holds the provider adapters only: the domains use it, never the reverse."""
    wrong = [
        f"{source} imports {target}"
        for source, targets in _graph().items()
        if source.startswith("services.llm")
        for target in targets
        if target.startswith("services.") and not target.startswith("services.llm")
    ]
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_nothing_but_main_imports_app() -> None:
    importers = sorted(
        source
        for source, targets in _graph().items()
        if not source.startswith("app") and any(t.split(".")[0] == "app" for t in targets)
    )
    assert importers == []
    assert any(t.startswith("app") for t in _imports(ROOT / "main.py"))
