"""The small labelled icon button under messages (Copy, Edit, Regenerate, thumbs, ‹ ›)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


def icon_button(icon: str, label: str, handler: Callable | None = None) -> ui.element:
    """A flat round icon button named `label` (aria-label, marker) with a native `title` hint;
    without `handler` it is drawn disabled.

    A chat page holds a few of these per message and draws them on every send and finish, so
    this is Quasar's `q-btn` as a plain element (~95 us to create) rather than `ui.button`
    (~265 us: its text, icon, colour and disable mixins and default-argument resolution), and
    its hint is the `title` attribute, not a `q-tooltip` element. It looks and acts the same
    (colour `primary` as `ui.button`); `.props("color=...")` and `set_visibility` still apply.
    """
    button = ui.element("q-btn").props(
        f'flat round dense size=sm color=primary icon="{icon}" aria-label="{label}" title="{label}"'
    )
    if handler is None:
        button.props("disable")
    else:
        button.on("click", handler)
    return button.mark(label)
