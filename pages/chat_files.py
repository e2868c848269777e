"""Files on the chat page: composer attachments, the image gallery and conversation export.

The glue between the chat components and `services.files.attachments` / `file_store` / `export`;
`pages/chat.py` calls `attach_callbacks` and `conversation_tools`.
"""

from __future__ import annotations

import orjson
from nicegui import run, ui
from nicegui.elements.upload_files import FileUpload

from components.chat_attachments import AttachCallbacks
from components.gallery import Gallery
from core.errors import ServiceError
from models import User
from services.chat import conversations, export
from services.files import attachments, uploads
from services.files import store as file_store
from services.files.attachments import Attachment


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


def conversation_tools(user: User, conversation_id: int) -> None:
    """The chat header's Gallery and Export buttons."""
    gallery = Gallery(lambda: run.io_bound(file_store.conversation_images, user, conversation_id))

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
