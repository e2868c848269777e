"""The small labelled icon button under messages and in the chat's bars."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


def icon_button(icon: str, label: str, handler: Callable | None = None) -> ui.button:
    """A flat round icon button named `label` (aria-label, marker) with a native `title` hint.

    A chat page holds a few of these per message, so the hint is the `title` attribute, not a
    `q-tooltip` element: one element each instead of two.
    """
    return (
        ui.button(icon=icon, on_click=handler)
        .props(f'flat round dense size=sm aria-label="{label}" title="{label}"')
        .mark(label)
    )
