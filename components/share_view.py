"""A shared conversation, read-only: the snapshot's messages and "Continue as my own copy".

Takes the snapshot (plain dicts) with each answer's HTML already rendered and its file URLs
pointing at the share's own file route; queries nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.chat_attachments import generated_files, sent_attachments


def shared_message(message: dict, html: str | None, file_base: str, assistant_name: str) -> None:
    """One message of a share: the question as a bubble, the answer as sanitized HTML."""
    if message.get("role") == "user":
        with (
            ui.column().classes("w-full items-end gap-1"),
            ui.element("div").classes(
                "max-w-[85%] rounded-2xl rounded-br-sm px-4 py-2 bg-indigo-600 text-white "
                "dark:bg-indigo-500 shadow-sm"
            ),
        ):
            ui.label(message.get("content") or "").classes("whitespace-pre-wrap break-words")
            sent_attachments(message.get("attachments") or [], base=file_base)
        return
    with ui.column().classes("w-full items-start gap-1"):
        ui.label(assistant_name or "Assistant").classes(
            "text-xs text-slate-500 dark:text-slate-400"
        )
        with ui.element("div").classes(
            "max-w-[95%] sm:max-w-[85%] rounded-2xl rounded-bl-sm px-4 py-2 shadow-sm chat-answer"
        ):
            if html:
                ui.html(html, sanitize=False).classes("chat-md w-full")
            generated_files({"generated_files": message.get("generated_files") or []}, file_base)
        if message.get("status") in ("stopped", "incomplete"):
            ui.label("This answer was cut short.").classes("text-xs text-slate-500")


class CopyDialog:
    """Pick the assistant to continue with, then make the copy (`on_copy(assistant_id)`)."""

    def __init__(
        self,
        options: list[tuple[int, str]],
        preselect: int | None,
        on_copy: Callable[[int], Awaitable[None]],
    ) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
            ui.label("Continue as my own copy").classes("text-lg font-medium")
            if not options:
                ui.label("You need an assistant first: create one on the Assistants page.")
                ui.button("Close", on_click=self.dialog.close).props("flat no-caps")
                return
            ui.label(
                "A new conversation of yours starts with these messages. Files stay with the share."
            ).classes("text-sm text-slate-500 dark:text-slate-400")
            self.select = ui.select(dict(options), value=preselect, label="Assistant").classes(
                "w-full"
            )

            async def copy() -> None:
                if self.select.value is not None:
                    await on_copy(int(self.select.value))

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Make my copy", icon="content_copy", on_click=copy).props(
                    "unelevated no-caps"
                )

    def open(self) -> None:
        """Show the dialog."""
        self.dialog.open()
