"""Elements built on first use, in the place they were declared (e.g. dialogs few pages open).

Every open tab holds its elements in server memory, so a dialog that most pages never show
is cheaper built when it is first opened.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


class BuiltOnFirstUse:
    """Runs `build()` once, inside the slot that was current when this was made."""

    def __init__(self, build: Callable[[], None]) -> None:
        self.build = build
        self.anchor = ui.context.slot.parent
        self.built = False

    def ensure(self) -> None:
        """Build now unless built already."""
        if not self.built:
            self.built = True
            with self.anchor:
                self.build()
