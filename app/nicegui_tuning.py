"""A start-up speed-up for NiceGUI element creation (measured in docs/performance.md).

NiceGUI 3.18 calls `helpers.expects_arguments` three times for every element it creates (its
classes, style and props collections register a bound `_update` method), and that function
runs `inspect.signature` each time: ~11 % of the event loop's time at 100 streaming chat
pages, all in drawing bubbles on send and finish. The answer only depends on the function's
code, its default values' count, its keyword-only defaults and whether it is bound, so it is
cached per that key. Callables that `inspect.signature` treats specially (partials, wrapped
or `__signature__`-carrying functions, builtins, other objects) go to the original.
"""

from __future__ import annotations

import types
from collections.abc import Callable

from nicegui import helpers

_original = helpers.expects_arguments
_cache: dict[tuple, bool] = {}


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


def speed_up_nicegui() -> None:
    """Install the cached `expects_arguments` (idempotent)."""
    helpers.expects_arguments = _expects_arguments
