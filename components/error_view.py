"""The friendly error page: what happened in plain words and a reference for the log."""

from __future__ import annotations

from nicegui import ui

from components.heading import heading


def error_view(reference: str, unavailable: bool = False) -> None:
    """The content of an error page; the details stay in the server log under `reference`."""
    with ui.column().classes("w-full items-center py-20 gap-3 text-center"):
        ui.icon("cloud_off" if unavailable else "error_outline", size="4rem").classes(
            "text-slate-400"
        )
        title = "The service is unavailable" if unavailable else "Something went wrong"
        heading(title)
        ui.label(
            "It cannot reach its database right now. Please try again in a minute."
            if unavailable
            else "The page could not be shown. Please try again; if it keeps happening, "
            "tell an administrator the reference below."
        ).classes("text-slate-500 dark:text-slate-400 max-w-md")
        ui.label(f"Reference: {reference}").classes(
            "font-mono text-sm text-slate-600 dark:text-slate-300"
        ).mark("error-reference")
        with ui.row().classes("gap-2"):
            ui.button("Try again", on_click=ui.navigate.reload).props("unelevated no-caps")
            ui.button("Go to the dashboard", on_click=lambda: ui.navigate.to("/")).props(
                "flat no-caps"
            )
