"""The assistant form's knowledge files: a drop zone with status chips.

On a saved assistant each file is uploaded and indexed at once, and a timer polls until the
provider is done. On the form of a new assistant, files are checked at once (name, size,
type, count) and kept in the page, marked "added when you save"; the first save uploads them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from nicegui import run, ui

from components.file_drop import DropItem, FileDrop
from core.errors import ServiceError
from models import User
from services.assistants import knowledge
from services.assistants.knowledge import KnowledgeFile
from services.files import uploads

POLL_SECONDS = 1.0


@dataclass
class PickedFiles:
    """Knowledge files picked before the assistant's first save: key → (name, bytes)."""

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def _drop_item(file: KnowledgeFile) -> DropItem:
    return DropItem(file.id, file.name, file.size, file.status.value, file.error)


def knowledge_section(
    user: User,
    assistant_id: int | None,
    files: list[KnowledgeFile],
    editable: bool,
    picked: PickedFiles,
) -> None:
    """Knowledge files: drop zone, per-file status chips, polling while files process.
    Without `assistant_id` (a new assistant), picked files wait in `picked` for the save."""
    ui.label("Knowledge files").classes("text-sm font-semibold mt-2")
    refusal = knowledge.documents_refusal()
    if refusal and not files:
        ui.label(f"{refusal} File search needs the provider's Files API (LLM_FILES).").classes(
            "text-xs text-amber-700 dark:text-amber-300"
        )
        return

    async def upload(name: str, data: bytes) -> DropItem:
        if assistant_id is None:
            clean = await run.io_bound(knowledge.check_unsaved_file, name, data, len(picked.files))
            key = f"picked-{uuid.uuid4().hex}"
            picked.files[key] = (clean, data)
            return DropItem(key, clean, len(data), "queued")
        return _drop_item(await knowledge.add_file(user, assistant_id, name, data))

    async def remove(item: DropItem) -> None:
        if assistant_id is None:
            picked.files.pop(item.key, None)
            return
        await knowledge.remove_file(user, assistant_id, item.key)
        ui.notify(f"Removed {item.name}.")

    extensions = ",".join(f".{ext}" for ext in uploads.DOCUMENT_EXTENSIONS)
    drop = FileDrop(
        on_upload=upload,
        on_remove=remove if editable else None,
        items=[_drop_item(file) for file in files],
        hint=(
            f"PDF, Word, PowerPoint, text, Markdown, HTML, CSV, JSON or code; up to "
            f"{uploads.max_file_bytes() // (1024 * 1024)} MB each."
        ),
        accept=extensions,
        max_file_bytes=uploads.max_file_bytes(),
        read_only=not editable,
    )
    if assistant_id is None:
        return

    async def poll() -> None:
        if not drop.waiting_for_server:
            return
        try:
            fresh = await knowledge.refresh_statuses(user, assistant_id)
        except ServiceError:
            return
        drop.set_items([_drop_item(file) for file in fresh])

    ui.timer(POLL_SECONDS, poll)


async def upload_picked(user: User, assistant_id: int, picked: PickedFiles) -> None:
    """Upload the files picked before the first save to the new assistant, with a progress
    notice; a file refused now (e.g. the upload quota) is named with the reason. A provider
    failure leaves the file listed as failed, as on the saved form."""
    if not picked.files:
        return
    count = len(picked.files)
    progress = ui.notification(
        f"Adding {count} knowledge file{'s' if count > 1 else ''}…", spinner=True, timeout=None
    )
    refused: list[str] = []
    for name, data in list(picked.files.values()):
        try:
            await knowledge.add_file(user, assistant_id, name, data)
        except ServiceError as exc:
            refused.append(f"{name}: {exc}")
    picked.files.clear()
    progress.dismiss()
    if refused:
        ui.notify("Not added: " + "; ".join(refused), type="warning", multi_line=True)
