"""Knowledge files of an assistant: the provider's Files API (purpose "assistants") and one
vector store per assistant, created on the first upload.

Life of a file: `add_file` checks it (name, size, count, type by content), records it as
`uploading`, uploads it and attaches it to the store (`processing`); `refresh_statuses` polls
the provider until it is `ready` or `failed (reason)`. Whatever fails, nothing is left behind
upstream: a file that was uploaded but could not be indexed is detached and deleted.
DB work runs in worker threads; provider calls go through the `FileStore` protocol
(`services.llm.files`). A provider without Files (LLM_FILES=none) refuses uploads up front with
"Documents are not supported by this provider.", leaving nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import NotFound, ServiceError
from models import Assistant, Conversation, FilePurpose, FileStatus, StoredFile, User
from services.assistants.manage import load_for_edit, load_for_use
from services.files import store as file_store
from services.files import uploads
from services.files.upstream import remove_file_upstream
from services.llm.factory import documents_supported, open_file_store
from services.llm.files import (
    DOCUMENTS_UNSUPPORTED,
    DocumentsUnsupported,
    FileStore,
    FileStoreError,
    Indexing,
    UpstreamMissing,
    delete_everywhere,
)

log = logging.getLogger(__name__)

MAX_ERROR = 500
LOST_UPSTREAM = "The provider no longer has this file. Remove it and upload it again."


@dataclass(frozen=True)
class KnowledgeFile:
    """A knowledge file as the edit page shows it."""

    id: str
    name: str
    size: int
    mime: str
    status: FileStatus
    error: str | None
    created_at: datetime


@dataclass(frozen=True)
class _Prepared:
    row_id: str
    name: str
    mime: str


def _view(row: StoredFile) -> KnowledgeFile:
    return KnowledgeFile(
        id=row.id,
        name=row.name,
        size=row.size,
        mime=row.mime,
        status=FileStatus(row.status),
        error=row.error,
        created_at=row.created_at,
    )


def _rows(session: Session, assistant_id: int) -> list[StoredFile]:
    return list(
        session.exec(
            select(StoredFile)
            .where(
                StoredFile.assistant_id == assistant_id,
                StoredFile.purpose == FilePurpose.knowledge,
            )
            .order_by(StoredFile.created_at, StoredFile.id)
        ).all()
    )


def list_files(user: User, assistant_id: int) -> list[KnowledgeFile]:
    """The knowledge files of an assistant the user can see, oldest first."""
    with session_scope() as session:
        load_for_use(session, user, assistant_id)
        return [_view(row) for row in _rows(session, assistant_id)]


def count_files(session: Session, assistant_id: int) -> int:
    """Knowledge files that count against the per-assistant limit (failed ones do not)."""
    return session.exec(
        select(func.count())
        .select_from(StoredFile)
        .where(
            StoredFile.assistant_id == assistant_id,
            StoredFile.purpose == FilePurpose.knowledge,
            StoredFile.status != FileStatus.failed,
        )
    ).one()


def _checked(name: str, data: bytes) -> tuple[str, str]:
    """(clean name, sniffed type) of a document, else ValidationError saying why not."""
    clean = uploads.sanitize_filename(name)
    uploads.check_size(clean, len(data))
    return clean, uploads.sniff_document(data, clean)


def check_unsaved_file(name: str, data: bytes, already: int) -> str:
    """Check a file picked on the form of an assistant not saved yet, as `add_file` will
    (name, size, type, and the count with the `already` picked): its clean name, or
    ValidationError saying why not. It is uploaded by `add_file` once the assistant exists."""
    check_documents_supported()
    clean, _ = _checked(name, data)
    uploads.check_count(already)
    return clean


def _prepare(user: User, assistant_id: int, name: str, data: bytes) -> _Prepared:
    clean, mime = _checked(name, data)
    with session_scope() as session:
        file_store.check_upload_quota(session, user, len(data))  # first: see its docstring
        load_for_edit(session, user, assistant_id)
        uploads.check_count(count_files(session, assistant_id))
        row = StoredFile(
            owner_id=user.id,
            name=clean,
            size=len(data),
            mime=mime,
            purpose=FilePurpose.knowledge,
            status=FileStatus.uploading,
            assistant_id=assistant_id,
        )
        session.add(row)
        session.flush()
        return _Prepared(row_id=row.id, name=clean, mime=mime)


def _update(row_id: str, **values: Any) -> bool:
    """Update a file row; False when it was removed meanwhile."""
    with session_scope() as session:
        result = session.exec(sa.update(StoredFile).where(StoredFile.id == row_id).values(**values))
        return result.rowcount > 0


def _get_row(row_id: str) -> StoredFile | None:
    with session_scope() as session:
        return session.get(StoredFile, row_id)


# The tables that own a vector store (column `vector_store_id`).
StoreOwner = type[Assistant] | type[Conversation]


def _store_id(table: StoreOwner, row_id: int) -> str | None:
    with session_scope() as session:
        row = session.get(table, row_id)
        if row is None:
            raise NotFound(f"The {table.__tablename__} was deleted.")
        return row.vector_store_id


def _claim_store(table: StoreOwner, row_id: int, expected: str | None, store_id: str) -> bool:
    """Record a new vector store unless another upload recorded one first (any process)."""
    with session_scope() as session:
        result = session.exec(
            sa.update(table)
            .where(table.id == row_id)
            .where(
                table.vector_store_id.is_(None)
                if expected is None
                else table.vector_store_id == expected
            )
            .values(vector_store_id=store_id)
        )
        return result.rowcount > 0


async def ensure_vector_store(store: FileStore, table: StoreOwner, row_id: int) -> str:
    """The vector store of an assistant or a conversation, created on first use (or when the
    provider lost it); concurrent first uploads agree on one store."""
    current = await asyncio.to_thread(_store_id, table, row_id)
    if current:
        if await store.vector_store_bytes(current) is not None:
            return current
        log.warning("Vector store %s vanished upstream; creating a new one", current)
    kind = table.__tablename__
    created = await store.create_vector_store(f"{kind}-{row_id}", {f"{kind}_id": str(row_id)})
    if await asyncio.to_thread(_claim_store, table, row_id, current, created):
        return created
    await store.delete_vector_store(created)
    winner = await asyncio.to_thread(_store_id, table, row_id)
    if not winner:
        raise NotFound(f"The {kind} was deleted.")
    return winner


async def cleanup_quietly(store: FileStore, store_id: str | None, file_id: str) -> None:
    """Best effort after a failure: the original error is what the user needs to see."""
    try:
        await delete_everywhere(store, store_id, file_id)
    except FileStoreError as exc:
        log.error("Could not delete orphan file %s upstream: %s", file_id, exc)


def upload_error_message(exc: BaseException) -> str:
    """What to tell the user about a failed upload (never a stack trace or the key)."""
    if isinstance(exc, ServiceError):  # FileStoreError included: its text is friendly
        return str(exc)[:MAX_ERROR]
    if isinstance(exc, asyncio.CancelledError):
        return "The upload was interrupted."
    log.exception("Upload failed", exc_info=exc)
    return "The upload failed unexpectedly."


_FILE_STATUS = {
    "ready": FileStatus.ready,
    "processing": FileStatus.processing,
    "failed": FileStatus.failed,
}


def file_status(indexing: Indexing) -> tuple[FileStatus, str | None]:
    """Our status (and reason) for a file's indexing at the provider."""
    return _FILE_STATUS[indexing.state], indexing.error


def documents_refusal(settings: Settings | None = None) -> str | None:
    """Why knowledge files cannot be added with this provider (for the form), or None."""
    if documents_supported(settings or get_settings()):
        return None
    return DOCUMENTS_UNSUPPORTED


def check_documents_supported(settings: Settings | None = None) -> None:
    """DocumentsUnsupported (a ServiceError) when the provider has no Files API."""
    if not documents_supported(settings or get_settings()):
        raise DocumentsUnsupported()


async def add_file(
    user: User, assistant_id: int, name: str, data: bytes, settings: Settings | None = None
) -> KnowledgeFile:
    """Check, upload and attach one knowledge file; returns it `processing` (or `failed`).

    Invalid files raise ValidationError and leave no trace; so does a provider without Files
    (DocumentsUnsupported). A provider failure returns the file as `failed` with the reason,
    after deleting whatever had been uploaded.
    """
    settings = settings or get_settings()
    check_documents_supported(settings)
    prepared = await asyncio.to_thread(_prepare, user, assistant_id, name, data)
    file_id: str | None = None
    store_id: str | None = None
    async with open_file_store(settings) as store:
        try:
            file_id = await store.upload(prepared.name, data, prepared.mime, "assistants")
            if not await asyncio.to_thread(_update, prepared.row_id, provider_file_id=file_id):
                raise NotFound("The file was removed.")
            store_id = await ensure_vector_store(store, Assistant, assistant_id)
            status, error = file_status(await store.attach(store_id, file_id))
            if status == FileStatus.failed:
                await cleanup_quietly(store, store_id, file_id)
        except (Exception, asyncio.CancelledError) as exc:
            if file_id:
                await cleanup_quietly(store, store_id, file_id)
            await asyncio.to_thread(
                _update, prepared.row_id, status=FileStatus.failed, error=upload_error_message(exc)
            )
            if isinstance(exc, asyncio.CancelledError | NotFound):
                raise
            return _view(await asyncio.to_thread(_get_row, prepared.row_id))
    await asyncio.to_thread(_update, prepared.row_id, status=status, error=error)
    row = await asyncio.to_thread(_get_row, prepared.row_id)
    if row is None:
        raise NotFound("The file was removed.")
    return _view(row)


def _poll_targets(user: User, assistant_id: int) -> tuple[str | None, list[StoredFile]]:
    with session_scope() as session:
        assistant = load_for_use(session, user, assistant_id)
        pending = [row for row in _rows(session, assistant_id) if row.status == "processing"]
        return assistant.vector_store_id, pending


async def refresh_statuses(
    user: User, assistant_id: int, settings: Settings | None = None
) -> list[KnowledgeFile]:
    """Ask the provider about every `processing` file, record the outcome, return the list."""
    store_id, pending = await asyncio.to_thread(_poll_targets, user, assistant_id)
    if pending:
        async with open_file_store(settings or get_settings()) as store:
            await asyncio.gather(*(_poll_one(store, store_id, row) for row in pending))
    return await asyncio.to_thread(list_files, user, assistant_id)


async def _poll_one(store: FileStore, store_id: str | None, row: StoredFile) -> None:
    if not store_id or not row.provider_file_id:
        await asyncio.to_thread(_update, row.id, status=FileStatus.failed, error=LOST_UPSTREAM)
        return
    try:
        indexing = await store.index_status(store_id, row.provider_file_id)
    except UpstreamMissing:
        await asyncio.to_thread(_update, row.id, status=FileStatus.failed, error=LOST_UPSTREAM)
        await cleanup_quietly(store, store_id, row.provider_file_id)
        return
    except FileStoreError as exc:  # transient: keep polling
        log.warning("Could not poll knowledge file %s: %s", row.id, exc)
        return
    status, error = file_status(indexing)
    if status == FileStatus.processing:
        return
    if status == FileStatus.failed:
        await cleanup_quietly(store, store_id, row.provider_file_id)
    await asyncio.to_thread(_update, row.id, status=status, error=error)


def _removal_target(user: User, assistant_id: int, file_id: str) -> tuple[str | None, str | None]:
    with session_scope() as session:
        assistant = load_for_edit(session, user, assistant_id)
        row = session.get(StoredFile, file_id)
        if row is None or row.assistant_id != assistant_id or row.purpose != "knowledge":
            raise NotFound("This file does not exist.")
        return assistant.vector_store_id, row.provider_file_id


def _delete_row(file_id: str) -> None:
    with session_scope() as session:
        session.exec(sa.delete(StoredFile).where(StoredFile.id == file_id))


async def remove_file(
    user: User, assistant_id: int, file_id: str, settings: Settings | None = None
) -> None:
    """Detach a knowledge file from the vector store, delete it upstream, then forget it."""
    store_id, provider_file_id = await asyncio.to_thread(
        _removal_target, user, assistant_id, file_id
    )
    if provider_file_id:
        await remove_file_upstream(store_id, provider_file_id, "the file", settings)
    await asyncio.to_thread(_delete_row, file_id)
