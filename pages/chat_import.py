"""`/import`: turn a ChatGPT export (conversations.json) or our own JSON export into
conversations, with a report of what was imported and what was skipped."""

from __future__ import annotations

from nicegui import events, run, ui

from core.config import get_settings
from core.errors import ServiceError
from models import User
from pages.shell import signed_in_page
from services.assistants.manage import list_assistants
from services.chat.importer import ImportReport, import_conversations

HINT = "text-sm text-slate-500 dark:text-slate-400"


def _report_view(report: ImportReport) -> None:
    ui.label(report.summary()).classes("font-medium").props('role=status aria-live="polite"')
    with ui.column().classes("w-full gap-1"):
        for item in report.conversations:
            branches = f" · {item.branches} branches" if item.branches > 1 else ""
            with ui.row().classes("items-center gap-2"):
                ui.icon("check_circle", size="xs").classes("text-emerald-600")
                ui.link(item.title, f"/chat/{item.id}")
                ui.label(f"{item.messages} messages{branches}").classes(HINT)
    if report.skipped:
        ui.label("Skipped").classes("font-medium pt-2")
        for why, count in report.skipped.items():
            ui.label(f"{count} {why}").classes(HINT)


@signed_in_page("/import", "Chat")
async def import_page(user: User) -> None:
    """Pick an assistant and a file; the import runs in one transaction."""
    assistants = await run.io_bound(list_assistants, user)
    limit = get_settings().import_max_mb
    ui.label("Import conversations").classes("text-2xl font-semibold")
    with ui.card().classes("w-full max-w-3xl p-5 gap-3 dark:bg-slate-800 shadow-sm"):
        ui.label(
            "Upload conversations.json from a ChatGPT data export, or a conversation exported "
            f"here as JSON (up to {limit} MB). Text and branches are imported; images, files, "
            "tool and system messages are skipped and listed in the report."
        ).classes(HINT)
        options = {a.id: a.name for a in assistants}
        choice = ui.select(
            options, value=next(iter(options), None), label="Continue the imported chats with"
        ).classes("w-full max-w-md")
        if not options:
            ui.label(
                "You have no assistant yet: imported chats can be read but not continued."
            ).classes(HINT)
        error = ui.label("").classes("text-sm text-red-600 dark:text-red-300")
        error.props('role=alert aria-live="assertive"')
        result = ui.column().classes("w-full gap-1")

        async def arrived(event: events.UploadEventArguments) -> None:
            error.text = ""
            result.clear()
            data = await event.file.read()
            try:
                report = await run.io_bound(import_conversations, user, data, choice.value)
            except ServiceError as exc:
                error.text = str(exc)
                return
            finally:
                upload.reset()
            with result:
                _report_view(report)
            ui.notify(report.summary(), type="positive")

        upload = (
            ui.upload(
                label="Export file (.json)",
                auto_upload=True,
                on_upload=arrived,
                max_file_size=limit * 1024 * 1024,
                on_rejected=lambda: setattr(
                    error,
                    "text",
                    f"That file is over {limit} MB: imports may be at most {limit} MB.",
                ),
            )
            .props(
                'accept=".json,application/json" flat bordered aria-label="Export file to import"'
            )
            .classes("w-full max-w-md")
        )
