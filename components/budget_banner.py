"""The warning shown from 80% of a monthly budget, and the refusal look at 100%."""

from __future__ import annotations

from nicegui import ui

from services.usage.spend import BudgetStatus


def budget_banner(status: BudgetStatus) -> ui.row | None:
    """A coloured banner with the budget warning; nothing when under 80% or unlimited."""
    if not status.warning:
        return None
    exhausted = (status.fraction or 0) >= 1
    colours = (
        "bg-rose-50 text-rose-900 border-rose-200 dark:bg-rose-900/30 dark:text-rose-100 "
        "dark:border-rose-800"
        if exhausted
        else "bg-amber-50 text-amber-900 border-amber-200 dark:bg-amber-900/30 "
        "dark:text-amber-100 dark:border-amber-800"
    )
    with (
        ui.row()
        .classes(f"w-full items-center gap-3 px-4 py-3 rounded-lg border {colours}")
        .props('role="status"') as banner
    ):
        ui.icon("block" if exhausted else "warning", size="sm")
        ui.label(status.warning).classes("flex-1 text-sm")
    banner.mark("budget-banner")
    return banner


def budget_meter(status: BudgetStatus) -> None:
    """A progress bar for the budget card (nothing for an unlimited budget)."""
    if status.fraction is None:
        return
    fraction = min(status.fraction, 1.0)
    colour = "negative" if fraction >= 1 else "warning" if fraction >= 0.8 else "primary"
    ui.linear_progress(value=fraction, show_value=False, color=colour).props("rounded").classes(
        "mt-1"
    )
