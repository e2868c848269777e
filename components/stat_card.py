"""A card with one figure, its label and an optional change versus a previous period."""

from __future__ import annotations

from nicegui import ui


def change_text(change: float | None) -> str:
    """'+12% vs last month', '-5% vs last month', or '' when there is nothing to compare."""
    if change is None:
        return ""
    return f"{change:+.0%} vs last month"


def stat_card(
    label: str,
    value: str,
    icon: str,
    hint: str = "",
    change: float | None = None,
    rising_is_bad: bool = False,
) -> ui.card:
    """A dashboard figure; `change` is relative (0.1 = +10%), coloured by whether up is good."""
    with ui.card().classes("min-w-40 flex-1 p-4 gap-1 dark:bg-slate-800 shadow-sm") as card:
        with ui.row().classes("items-center gap-2 text-slate-500 dark:text-slate-400"):
            ui.icon(icon, size="xs")
            ui.label(label).classes("text-sm")
        ui.label(value).classes("text-2xl font-semibold text-slate-900 dark:text-slate-50")
        if change is not None:
            bad = (change > 0) == rising_is_bad and change != 0
            colour = "text-rose-600 dark:text-rose-400" if bad else "text-emerald-600"
            ui.label(change_text(change)).classes(f"text-xs {colour} dark:opacity-90")
        if hint:
            ui.label(hint).classes("text-xs text-slate-500 dark:text-slate-400")
    return card
