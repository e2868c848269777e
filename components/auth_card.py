"""The centred card used by the sign-in, sign-up and password pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from components.heading import heading
from components.layout import apply_theme


@contextmanager
def auth_card(title: str, subtitle: str = "") -> Iterator[ui.card]:
    """A full-height centred card with the product name; yields the card."""
    apply_theme("auto")
    ui.query("body").classes("bg-slate-50 dark:bg-slate-900")
    with ui.column().classes("w-full min-h-screen items-center justify-center p-4"):
        with ui.row().classes("items-center gap-2 mb-2"):
            ui.icon("auto_awesome", size="md").classes("text-indigo-500")
            ui.label("Assistant Studio").classes(
                "text-2xl font-semibold text-slate-800 dark:text-slate-100"
            )
        with ui.card().classes("w-full max-w-sm p-6 gap-3 shadow-lg") as card:
            heading(title).classes(add="text-xl", remove="text-2xl")
            if subtitle:
                ui.label(subtitle).classes("text-sm text-slate-500 -mt-2")
            yield card
