"""Start-up speed-ups for NiceGUI element creation (measured in docs/performance.md).

NiceGUI 3.18 calls `helpers.expects_arguments` three times for every element it creates (its
classes, style and props collections register a bound `_update` method), and that function
runs `inspect.signature` each time: ~11 % of the event loop's time at 100 streaming chat
pages, all in drawing bubbles on send and finish. The answer only depends on the function's
code, its default values' count, its keyword-only defaults and whether it is bound, so it is
cached per that key. Callables that `inspect.signature` treats specially (partials, wrapped
or `__signature__`-carrying functions, builtins, other objects) go to the original.

`Props.parse` turns a props string ("flat round dense aria-label=...") into a dict with a regex
and `ast.literal_eval` for every quoted value, each time an element is given props; the app
passes the same few strings for every bubble's buttons, so results are cached per string.
Only results whose values are all immutable (str, bool, numbers, None) are cached, and each
call gets its own copy of the dict.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from nicegui import helpers
from nicegui.props import Props

_original = helpers.expects_arguments
_cache: dict[tuple, bool] = {}
_original_parse = Props.parse
_parsed: dict[str, dict[str, Any]] = {}
_PARSED_LIMIT = 4_096  # distinct props strings kept (texts with ids or user data vary)
_IMMUTABLE = (str, bool, int, float, type(None))


def _expects_arguments(func: Callable) -> bool:
    bound = isinstance(func, types.MethodType)
    function = func.__func__ if bound else func
    if (
        type(function) is not types.FunctionType
        or hasattr(function, "__wrapped__")
        or hasattr(function, "__signature__")
    ):
        return _original(func)
    key = (
        function.__code__,
        len(function.__defaults__ or ()),
        tuple(function.__kwdefaults__ or ()),
        bound,
    )
    result = _cache.get(key)
    if result is None:
        result = _cache[key] = _original(func)
    return result


def _parse(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    cached = _parsed.get(text)
    if cached is None:
        cached = _original_parse(text)
        if len(_parsed) >= _PARSED_LIMIT or not all(
            isinstance(value, _IMMUTABLE) for value in cached.values()
        ):
            return cached
        _parsed[text] = cached
    return dict(cached)


def speed_up_nicegui() -> None:
    """Install the cached `expects_arguments` and `Props.parse` (idempotent)."""
    helpers.expects_arguments = _expects_arguments
    Props.parse = staticmethod(_parse)
