"""Chat header tools: composer attachments, the image gallery, export and the spending cap.

The glue between the chat components and `services.files.attachments` / `file_store` / `export`;
`pages/chat.py` calls `attach_callbacks` and `conversation_tools`.
"""

from __future__ import annotations

import orjson
from nicegui import run, ui
from nicegui.elements.upload_files import FileUpload

from components.chat_attachments import AttachCallbacks
from components.forms import FormMessage, submit_form
from components.gallery import Gallery
from components.lazy import BuiltOnFirstUse
from core.errors import ServiceError
from models import User
from pages.share import share_button
from services.chat import conversations, export
from services.files import attachments, uploads
from services.files import store as file_store
from services.files.attachments import Attachment
from services.usage.pricing import MICROS_PER_USD, format_usd


def attach_callbacks(
    user: User, conversation_id: int, model: str | None, pending: list[Attachment]
) -> AttachCallbacks | None:
    """What the composer does with files of this conversation (None: it cannot send), from
    what the page loaded: the answering model and the files not sent yet."""
    if model is None:
        return None
    sees_images = attachments.model_sees_images(model)

    async def upload(name: str, file: FileUpload) -> Attachment:
        uploads.check_size(uploads.sanitize_filename(name), file.size())  # before reading it
        return await attachments.add(user, conversation_id, name, await file.read())

    async def wait(file_id: str) -> Attachment:
        return await attachments.wait_until_ready(user, file_id)

    async def remove(file_id: str) -> None:
        await attachments.remove(user, file_id)

    return AttachCallbacks(
        upload=upload,
        wait=wait,
        remove=remove,
        pending=pending,
        images_reason=None if sees_images else attachments.no_vision_message(model),
    )


def _cap_text(micros: int | None) -> str:
    if micros is None:
        return "No spending cap on this conversation."
    if micros == 0:
        return "Cap: $0.00 (sending is blocked)."
    return f"Cap: {format_usd(micros)} for this conversation."


class CostCapDialog:
    """Set or clear the conversation's dollar cap ("" = none, "0" blocks sending)."""

    def __init__(self, user: User, conversation_id: int) -> None:
        self.user = user
        self.conversation_id = conversation_id
        self.form = BuiltOnFirstUse(self._build)  # most pages never open it

    def _build(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-sm"):
            ui.label("Spending cap").classes("text-lg font-medium")
            self.current = ui.label().classes("text-sm text-slate-600 dark:text-slate-300")
            self.cap = ui.input("Conversation cap (USD)", placeholder="empty = no cap").classes(
                "w-full"
            )
            ui.label(
                "Sends stop before this conversation's spend would pass the cap. "
                "Leave empty for no cap; 0 blocks sending."
            ).classes("text-xs text-slate-500 dark:text-slate-400")
            self.message = FormMessage()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                self.save = ui.button("Save cap", on_click=self._submit).props("unelevated no-caps")
            self.cap.on("keydown.enter", self._submit)

    async def open(self) -> None:
        """Show the dialog with the current cap."""
        try:
            conversation = await run.io_bound(
                conversations.get_conversation, self.user, self.conversation_id
            )
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        micros = conversation.cost_cap_micros
        self.form.ensure()
        self.current.set_text(_cap_text(micros))
        self.cap.value = "" if micros is None else f"{micros / MICROS_PER_USD:.2f}"
        self.cap.error = None
        self.message.clear()
        self.dialog.open()

    async def _submit(self) -> None:
        await submit_form(self.save, {"cost_cap": self.cap}, self.message, self._save)

    async def _save(self) -> None:
        saved = await run.io_bound(
            conversations.set_cost_cap, self.user, self.conversation_id, self.cap.value
        )
        self.dialog.close()
        ui.notify(_cap_text(saved.cost_cap_micros), type="positive")


def conversation_tools(user: User, conversation_id: int) -> None:
    """The chat header's Gallery, Export and spending-cap buttons."""
    gallery = Gallery(lambda: run.io_bound(file_store.conversation_images, user, conversation_id))
    cap_dialog = CostCapDialog(user, conversation_id)

    async def export_markdown() -> None:
        try:
            conversation = await run.io_bound(conversations.get_conversation, user, conversation_id)
            text = await run.io_bound(export.export_markdown, user, conversation_id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        name = export.export_filename(conversation.title, "md")
        ui.download.content(text.encode(), name, "text/markdown; charset=utf-8")

    async def export_json() -> None:
        try:
            data = await run.io_bound(export.export_json, user, conversation_id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        name = export.export_filename(data["conversation"]["title"], "json")
        ui.download.content(
            orjson.dumps(data, option=orjson.OPT_INDENT_2), name, "application/json"
        )

    with ui.row().classes("gap-1 items-center flex-wrap"):
        ui.button("Gallery", icon="photo_library", on_click=gallery.open).props(
            "flat dense no-caps"
        )
        ui.button("Export Markdown", icon="download", on_click=export_markdown).props(
            "flat dense no-caps"
        )
        ui.button("Export JSON", icon="data_object", on_click=export_json).props(
            "flat dense no-caps"
        )
        ui.button("Set spending cap", icon="savings", on_click=cap_dialog.open).props(
            "flat dense no-caps"
        )
        share_button(user, conversation_id)
