"""Files and images in chat: composer attachments, what a turn sends, files the model makes.

Where each type goes (see docs/files.md):
- an image (PNG/JPEG/WebP/GIF by content) is re-encoded and kept with a thumbnail
  (`file_store.store_image`); the turn sends it as an `input_image` data URL. Only models the
  catalog marks `vision` may receive images: others are refused with a ValidationError.
- a CSV is uploaded to the Files API (purpose `user_data`) and sent as an `input_file` part;
- any other document is uploaded (purpose `assistants`) and indexed into the conversation's
  vector store (`Conversation.vector_store_id`, created on the first document); every later
  turn of that conversation then runs `file_search` over it (and the assistant's own store),
  even when the assistant itself has no file_search tool;
- on a provider without Files (LLM_FILES=none: Ollama, vLLM, most gateways) a document is
  read here instead (`documents`: text, Markdown, CSV, JSON, code, PDF), kept locally and sent
  as text inside its message, up to LOCAL_DOCUMENT_MAX_CHARS characters.

An attachment is pending (composer) until `send` links it to the user's message. A refused
file leaves nothing (no row, no bytes, nothing upstream); an upstream failure deletes what was
uploaded and the local copy, then raises ServiceError with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import NotFound, ServiceError, ValidationError
from models import (
    Conversation,
    ConversationMessage,
    FilePurpose,
    FileStatus,
    StoredFile,
    User,
)
from services.accounts.permissions import active_actor
from services.assistants import knowledge
from services.assistants.manage import load_for_use
from services.chat.conversations import owned_conversation
from services.files import documents, uploads
from services.files import paths as file_paths
from services.files import store as file_store
from services.files.images import IMAGE_MIMES
from services.files.upstream import remove_file_upstream
from services.llm.base import ContextMessage
from services.llm.catalog import load_catalog
from services.llm.factory import documents_supported, open_file_store
from services.llm.files import FileStoreError, wait_indexed

log = logging.getLogger(__name__)

MAX_PER_MESSAGE = 10
INDEX_TIMEOUT_SECONDS = 120.0
INPUT_FILE_MIMES = frozenset({"text/csv"})  # not a file_search type: sent as input_file
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "gif"})
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
NOT_SENT = "This attachment was already sent and cannot be removed."
INTERRUPTED = "the upload did not finish; remove it and attach the file again."


@dataclass(frozen=True)
class Attachment:
    """A composer attachment as the chip shows it."""

    id: str
    name: str
    size: int
    mime: str
    status: FileStatus
    error: str | None = None

    @property
    def is_image(self) -> bool:
        """Shown with a thumbnail; sent as an image part."""
        return self.mime in IMAGE_MIMES


def _view(row: StoredFile) -> Attachment:
    return Attachment(row.id, row.name, row.size, row.mime, FileStatus(row.status), row.error)


def looks_like_image(data: bytes, name: str) -> bool:
    """An image by its bytes (PNG, JPEG, GIF, WebP magic) or by its extension."""
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    return uploads.extension(name) in IMAGE_EXTENSIONS


def model_sees_images(model: str, settings: Settings | None = None) -> bool:
    """Whether the catalog says this model accepts image input (unknown models: no)."""
    info = load_catalog(settings or get_settings()).get(model)
    return bool(info and info.vision)


def no_vision_message(model: str) -> str:
    """Why images cannot be sent to `model` (shown on the disabled button and on refusal)."""
    return f"{model} cannot see images. Use an assistant with a vision model to send images."


def conversation_model(user: User, conversation_id: int) -> str:
    """The model of the conversation's assistant (NotFound if either is not the user's)."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        if conversation.assistant_id is None:
            raise NotFound("This conversation's assistant was deleted.")
        return load_for_use(session, user, conversation.assistant_id).model


def pending(user: User, conversation_id: int) -> list[Attachment]:
    """Attachments added to the composer of this conversation and not sent yet."""
    with session_scope() as session:
        owned_conversation(session, user, conversation_id)
        return pending_in(session, user, conversation_id)


def pending_in(session: Session, user: User, conversation_id: int) -> list[Attachment]:
    """`pending` in the caller's session (the conversation's access already checked)."""
    rows = session.exec(
        select(StoredFile)
        .where(StoredFile.owner_id == user.id)
        .where(StoredFile.conversation_id == conversation_id)
        .where(StoredFile.message_id.is_(None))
        .where(StoredFile.purpose.in_([FilePurpose.attachment, FilePurpose.image]))
        .order_by(StoredFile.created_at, StoredFile.id)
    )
    return [_pending_view(row) for row in rows]


def _pending_view(row: StoredFile) -> Attachment:
    """An upload cut short (restart, closed tab) shows as failed, so it cannot block Send."""
    if row.status == FileStatus.uploading:
        return replace(_view(row), status=FileStatus.failed, error=INTERRUPTED)
    return _view(row)


# ---------------------------------------------------------------- adding and removing


async def add(
    user: User, conversation_id: int, name: str, data: bytes, settings: Settings | None = None
) -> Attachment:
    """Check and keep one composer attachment; documents are uploaded and indexed upstream.

    Returns the attachment `ready` (images, CSV, documents read here) or `processing` (a
    document being indexed: call `wait_until_ready`). Raises ValidationError for an oversize,
    empty or unsupported file, for a document too long to read here, and for an image when the
    model has no vision; nothing is stored then.
    """
    settings = settings or get_settings()
    clean = uploads.sanitize_filename(name)
    uploads.check_size(clean, len(data), settings)
    model = await asyncio.to_thread(conversation_model, user, conversation_id)
    if looks_like_image(data, clean):
        if not model_sees_images(model, settings):
            raise ValidationError(no_vision_message(model), "file")
        row = await asyncio.to_thread(
            file_store.store_image, user, data, clean, conversation_id=conversation_id
        )
        return _view(row)
    if not documents_supported(settings):
        return _view(await asyncio.to_thread(_keep_local, user, data, clean, conversation_id))
    row = await asyncio.to_thread(file_store.store_attachment, user, data, clean, conversation_id)
    return await _upload_document(user, row, data, settings)


def _keep_local(user: User, data: bytes, name: str, conversation_id: int) -> StoredFile:
    """A document for a provider without Files: readable and short enough, then kept ready."""
    documents.read_checked(name, data, uploads.sniff_document(data, name))
    return file_store.store_attachment(user, data, name, conversation_id, FileStatus.ready)


async def _upload_document(
    user: User, row: StoredFile, data: bytes, settings: Settings
) -> Attachment:
    """Files API (+ the conversation's vector store); on failure nothing stays anywhere."""
    file_id: str | None = None
    store_id: str | None = None
    try:
        async with open_file_store(settings) as store:
            try:
                indexed = row.mime not in INPUT_FILE_MIMES
                purpose = "assistants" if indexed else "user_data"
                file_id = await store.upload(row.name, data, row.mime, purpose)
                status = FileStatus.ready
                if indexed:
                    store_id = await knowledge.ensure_vector_store(
                        store, Conversation, row.conversation_id
                    )
                    status, error = knowledge.file_status(await store.attach(store_id, file_id))
                    if status == FileStatus.failed:
                        raise ServiceError(f"{row.name} could not be indexed: {error}")
                return _view(
                    await asyncio.to_thread(
                        _update, row.id, provider_file_id=file_id, status=status
                    )
                )
            except (Exception, asyncio.CancelledError):
                if file_id:
                    await knowledge.cleanup_quietly(store, store_id, file_id)
                raise
    except (Exception, asyncio.CancelledError) as exc:
        await asyncio.to_thread(_forget, row.id)
        provider_failed = isinstance(exc, FileStoreError)  # a ServiceError that names no file
        if isinstance(exc, asyncio.CancelledError | ServiceError) and not provider_failed:
            raise
        raise ServiceError(
            f"{row.name} could not be uploaded: {knowledge.upload_error_message(exc)}"
        ) from exc


def _update(file_id: str, **values: object) -> StoredFile:
    with session_scope() as session:
        row = session.get(StoredFile, file_id)
        if row is None:
            raise NotFound("The attachment was removed.")
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.flush()
        return row


def _forget(file_id: str) -> None:
    """Remove a local row and its bytes (after an upstream failure)."""
    with session_scope() as session:
        row = session.get(StoredFile, file_id)
        if row is None:
            return
        owner = session.get(User, row.owner_id)
    file_store.delete_file(owner, file_id)


def _upstream_target(file_id: str) -> tuple[str | None, str | None]:
    """(vector store id, provider file id) of an attachment."""
    with session_scope() as session:
        row = session.get(StoredFile, file_id)
        if row is None or not row.provider_file_id:
            return None, None
        conversation = session.get(Conversation, row.conversation_id or 0)
        indexed = row.mime not in INPUT_FILE_MIMES
        store = conversation.vector_store_id if conversation and indexed else None
        return store, row.provider_file_id


async def wait_until_ready(
    user: User, file_id: str, settings: Settings | None = None, timeout: float | None = None
) -> Attachment:
    """Poll the provider until a `processing` document is indexed; returns it `ready`.

    Indexing that fails or takes longer than `timeout` (INDEX_TIMEOUT_SECONDS) removes the
    file upstream and here, and raises ServiceError with the reason.
    """
    row = await asyncio.to_thread(_own_pending, user, file_id)
    if row.status != FileStatus.processing:
        return _view(row)
    store_id, provider_id = await asyncio.to_thread(_upstream_target, file_id)
    async with open_file_store(settings or get_settings()) as store:
        if store_id and provider_id:
            indexing = await wait_indexed(
                store, store_id, provider_id, timeout or INDEX_TIMEOUT_SECONDS
            )
            status, error = knowledge.file_status(indexing)
        else:
            status, error = FileStatus.failed, knowledge.LOST_UPSTREAM
        if status == FileStatus.failed and provider_id:
            await knowledge.cleanup_quietly(store, store_id, provider_id)
    if status == FileStatus.failed:
        await asyncio.to_thread(_forget, file_id)
        raise ServiceError(f"{row.name} could not be indexed: {error}")
    return _view(await asyncio.to_thread(_update, file_id, status=status))


def _own_pending(user: User, file_id: str) -> StoredFile:
    with session_scope() as session:
        active_actor(session, user)
        row = session.get(StoredFile, file_id)
        if row is None or row.owner_id != user.id or row.purpose not in _ATTACHMENT_PURPOSES:
            raise NotFound("Attachment not found")
        return row


_ATTACHMENT_PURPOSES = (FilePurpose.attachment, FilePurpose.image)


async def remove(user: User, file_id: str, settings: Settings | None = None) -> None:
    """Take an unsent attachment out of the composer: upstream copies first, then ours."""
    row = await asyncio.to_thread(_own_pending, user, file_id)
    if row.message_id is not None:
        raise ValidationError(NOT_SENT, "file")
    store_id, provider_id = await asyncio.to_thread(_upstream_target, file_id)
    if provider_id:
        await remove_file_upstream(store_id, provider_id, row.name, settings)
    await asyncio.to_thread(file_store.delete_file, user, file_id)


# ---------------------------------------------------------------- the turn


def for_turn(session: Session, user: User, model: str, ids: list[str]) -> list[StoredFile]:
    """The attachments a new message may carry: the user's own, unsent and ready.

    Raises NotFound for an id that is not the user's, ValidationError for one still being
    uploaded or already sent, for too many, and for images when `model` has no vision.
    """
    if len(ids) > MAX_PER_MESSAGE:
        raise ValidationError(f"Attach at most {MAX_PER_MESSAGE} files per message.", "file")
    files: list[StoredFile] = []
    for file_id in dict.fromkeys(ids):
        row = session.get(StoredFile, file_id) if isinstance(file_id, str) else None
        if row is None or row.owner_id != user.id or row.purpose not in _ATTACHMENT_PURPOSES:
            raise NotFound("Attachment not found")
        if row.message_id is not None:
            raise ValidationError(f"{row.name} was already sent.", "file")
        if row.status != FileStatus.ready:
            raise ValidationError(f"{row.name} is not ready yet; wait a moment.", "file")
        if row.mime in IMAGE_MIMES and not model_sees_images(model):
            raise ValidationError(no_vision_message(model), "file")
        files.append(row)
    return files


def context_message(
    session: Session, user: User, message: ConversationMessage, vision: bool
) -> ContextMessage:
    """A message with its attachments as model input.

    Images become data URLs (left out for a model without vision: its assistant may have
    changed model since); a CSV uploaded to the Files API becomes an input_file id; indexed
    documents add nothing (the conversation's vector store serves them). A document is read
    here and appended to the text when the provider has no Files API, or when it was never
    uploaded (attached while LLM_FILES was none), so switching providers loses no document.
    """
    local = not documents_supported(get_settings())
    images: list[str] = []
    files: list[str] = []
    texts: list[str] = []
    for item in message.attachments or []:
        row = session.get(StoredFile, item.get("id"))
        if row is None or row.owner_id != user.id:
            continue
        path = file_paths.stored_path(row)
        if row.mime in IMAGE_MIMES:
            if vision and path is not None:
                data = base64.b64encode(path.read_bytes()).decode()
                images.append(f"data:{row.mime};base64,{data}")
        elif row.provider_file_id and not local:
            if row.mime in INPUT_FILE_MIMES:
                files.append(row.provider_file_id)
        elif path is not None and documents.is_readable(row.mime):
            texts.append(_local_document(row, path))
    text = "\n\n".join([message.content, *texts]) if texts else message.content
    return ContextMessage(message.role.value, text, images, files)


def _local_document(row: StoredFile, path: Path) -> str:
    try:
        text = documents.stored_text(path, row.size, row.name, row.mime)
    except ValidationError as exc:  # readable at upload; a changed library may disagree
        log.warning("Could not read stored document %s: %s", row.id, exc)
        text = f"(The document could not be read: {exc})"
    return documents.context_block(row.name, text)


def turn_tools(tools: list[str], conversation: Conversation) -> list[str]:
    """The assistant's tools, plus file_search once the conversation has its own documents."""
    if conversation.vector_store_id and "file_search" not in tools:
        return [*tools, "file_search"]
    return list(tools)


# ---------------------------------------------------------------- files the model makes


async def keep_generated_files(
    owner_id: int,
    conversation_id: int,
    message_id: int,
    generated: list[dict],
    citations: list[dict],
    settings: Settings | None = None,
) -> tuple[list[dict], list[dict]]:
    """Fetch the files a reply produced (code interpreter) and keep them with the message.

    Images are re-encoded like uploads; other files are kept as downloads. Returns the
    generated entries and citations with `stored_file_id` added where the file was kept; a
    file that cannot be fetched is logged and left without one (the answer still saves).
    """
    kept: dict[str, str] = {}
    async with open_file_store(settings or get_settings()) as store:
        for entry in generated:
            try:
                data = await store.file_content(entry["file_id"], entry.get("container_id"))
                row = await asyncio.to_thread(
                    _keep, owner_id, conversation_id, message_id, entry, data
                )
            except ServiceError as exc:  # FileStoreError included
                log.warning("Could not keep generated file %s: %s", entry.get("file_id"), exc)
                continue
            kept[entry["file_id"]] = row.id
    return (
        [_with_stored(entry, kept) for entry in generated],
        [_with_stored(citation, kept) for citation in citations],
    )


def _with_stored(item: dict, kept: dict[str, str]) -> dict:
    stored = kept.get(item.get("file_id") or "")
    return {**item, "stored_file_id": stored} if stored else item


def _keep(
    owner_id: int, conversation_id: int, message_id: int, entry: dict, data: bytes
) -> StoredFile:
    with session_scope() as session:
        user = session.get(User, owner_id)
    if user is None:
        raise NotFound("The user was deleted.")
    name = entry.get("filename") or "file"
    if looks_like_image(data, name):
        return file_store.store_image(
            user,
            data,
            name,
            conversation_id=conversation_id,
            message_id=message_id,
            purpose=FilePurpose.generated,
        )
    uploads.check_size(name, len(data))
    return file_store.store_file(
        user,
        data,
        name,
        "application/octet-stream",
        FilePurpose.generated,
        conversation_id=conversation_id,
        message_id=message_id,
    )
