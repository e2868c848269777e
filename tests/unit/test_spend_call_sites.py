"""Every provider call goes through the budget path (issue 11): an AST walk over the app.

- Model calls (`stream_reply`, `complete_text`, the protocol's spending methods) may only be
  made from a function that receives a reservation: one of its parameters is annotated with
  a class of the same module that has a `reservation_id` field, and nothing else.
- The SDK's model endpoints (`responses.*`, `chat.completions.*`) are called only by the
  provider adapters in services/llm/, which implement that protocol.
- Vector stores are created only by `ensure_vector_store`, which records the store on an
  assistant or a conversation: exactly the rows the storage job bills per GB-day.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ("services", "pages", "components", "app")
MODEL_METHODS = {"stream_reply", "complete_text"}
SDK_MODEL_CHAINS = {("responses", "create"), ("responses", "stream"), ("completions", "create")}
# The SDK call lives in the OpenAI file-store adapter; the app asks for a store in one place.
SDK_STORE_CREATORS = {("services/llm/files.py", "create_vector_store")}
STORE_CREATORS = {("services/assistants/knowledge.py", "ensure_vector_store")}


def _sources() -> list[tuple[str, ast.Module]]:
    found = []
    for folder in APP_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found.append((str(path.relative_to(ROOT)), ast.parse(path.read_text())))
    return found


def _chain(node: ast.AST) -> tuple[str, ...]:
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return tuple(reversed(names))


def _calls_with_function(tree: ast.Module):
    """(call, innermost enclosing function) for every call in the module."""
    stack: list[ast.AST] = []

    def visit(node: ast.AST):
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function:
            stack.append(node)
        if isinstance(node, ast.Call):
            yield node, stack[-1] if stack else None
        for child in ast.iter_child_nodes(node):
            yield from visit(child)
        if is_function:
            stack.pop()

    yield from visit(tree)


def _classes_with_reservation(tree: ast.Module) -> set[str]:
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(item, ast.AnnAssign)
            and isinstance(item.target, ast.Name)
            and item.target.id == "reservation_id"
            for item in node.body
        )
    }


def _receives_reservation(function: ast.AST | None, holders: set[str]) -> bool:
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    for arg in function.args.args + function.args.kwonlyargs:
        if arg.annotation is not None and ast.unparse(arg.annotation) in holders:
            return True
    return False


def test_every_model_call_is_reserved() -> None:
    sites, bypass = [], []
    for path, tree in _sources():
        if path.startswith("services/llm/"):
            continue  # the adapters implement the protocol; callers are checked here
        holders = _classes_with_reservation(tree)
        for call, function in _calls_with_function(tree):
            chain = _chain(call.func)
            if chain and chain[-1] in MODEL_METHODS:
                name = getattr(function, "name", "<module>")
                sites.append(f"{path}:{call.lineno} {name}")
                if not _receives_reservation(function, holders):
                    bypass.append(f"{path}:{call.lineno} in {name}")
    assert len(sites) >= 2, sites  # the reply stream and the split summary, at least
    assert bypass == [], f"model calls outside a reserved call: {bypass}"


def test_sdk_model_endpoints_only_in_the_adapters() -> None:
    outside = [
        f"{path}:{call.lineno}"
        for path, tree in _sources()
        if not path.startswith("services/llm/")
        for call, _ in _calls_with_function(tree)
        if _chain(call.func)[-2:] in SDK_MODEL_CHAINS
    ]
    assert outside == [], f"SDK model calls past the provider protocol: {outside}"


def test_vector_stores_are_created_only_where_storage_is_billed() -> None:
    calls = [
        (path, getattr(function, "name", "<module>"), _chain(call.func))
        for path, tree in _sources()
        for call, function in _calls_with_function(tree)
    ]
    sdk = {(path, name) for path, name, chain in calls if chain[-2:] == ("vector_stores", "create")}
    assert sdk == SDK_STORE_CREATORS
    asking = {
        (path, name)
        for path, name, chain in calls
        if chain[-1:] == ("create_vector_store",) and not path.startswith("services/llm/")
    }
    assert asking == STORE_CREATORS
    billed = (ROOT / "services/usage/storage.py").read_text()
    assert "Assistant.vector_store_id" in billed and "Conversation.vector_store_id" in billed
