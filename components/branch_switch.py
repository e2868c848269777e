"""The ‹ 2/3 › switch between a message's siblings (regenerated answers, edited questions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui

from components.icon_button import icon_button

SwitchTo = Callable[[int], Awaitable[None] | None]


@dataclass(frozen=True)
class BranchSwitch:
    """Where a message sits among its siblings and how to show another one."""

    index: int  # 1-based
    count: int
    previous_id: int | None
    next_id: int | None
    on_switch: SwitchTo


def branch_switch(switch: BranchSwitch, noun: str) -> None:
    """‹ 2/3 ›: step to the previous or next `noun` ("answer", "version"); an end is disabled."""
    with ui.row().classes("items-center gap-0 text-xs text-slate-600 dark:text-slate-300"):
        _step("chevron_left", f"Previous {noun}", switch.previous_id, switch.on_switch)
        ui.label(f"{switch.index}/{switch.count}").classes("tabular-nums px-1").props(
            f'aria-label="{noun.capitalize()} {switch.index} of {switch.count}"'
        ).mark("branch-position")
        _step("chevron_right", f"Next {noun}", switch.next_id, switch.on_switch)


def _step(icon: str, label: str, target: int | None, on_switch: SwitchTo) -> None:
    icon_button(icon, label, None if target is None else lambda: on_switch(target))
