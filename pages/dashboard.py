"""The dashboard at `/`."""

from __future__ import annotations

from nicegui import run, ui

from app.auth_guard import require_user
from pages.shell import shell
from services.dashboard import counts_for


def _stat_card(label: str, value: str, icon: str) -> None:
    with ui.card().classes("min-w-48 flex-1 p-4 gap-1"):
        with ui.row().classes("items-center gap-2 text-slate-500"):
            ui.icon(icon, size="xs")
            ui.label(label).classes("text-sm")
        ui.label(value).classes("text-3xl font-semibold")


@ui.page("/")
async def dashboard_page() -> None:
    """Greets the user and shows their counts."""
    user = await require_user()
    if user is None:
        return
    counts = await run.io_bound(counts_for, user.id)
    with shell(user, "Dashboard"):
        ui.label(f"Welcome, {user.username}").classes("text-2xl font-semibold")
        with ui.row().classes("w-full gap-4"):
            _stat_card("Assistants", str(counts.assistants), "smart_toy")
            _stat_card("Conversations", str(counts.conversations), "forum")
        if counts.assistants == 0:
            with ui.card().classes("w-full p-6 items-start gap-2"):
                ui.label("Build your first assistant").classes("text-lg font-medium")
                ui.label(
                    "Give it instructions, pick a model and tools, then chat with it."
                ).classes("text-slate-500")
                ui.button(
                    "New assistant", on_click=lambda: ui.navigate.to("/assistants/new")
                ).props("unelevated")
