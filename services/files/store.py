"""Files and images we keep: bytes under DATA_DIR/files, a StoredFile row, and who may read them.

Bytes live at `files/<first two hex of id>/<id>` (thumbnail: `<id>.thumb`) where the id is the
row's unguessable 128-bit hex id; the user's file name is only ever a column, never a path.
`storage_path` holds the path relative to DATA_DIR so the data directory can move.

Who may read a file (`get_file_for_user`): its owner; the owner of the conversation it belongs
to; anyone who may use the assistant it belongs to (owner, shared, admin). Everyone else gets
NotFound, exactly as for a file that does not exist. Blocking: call through `run.io_bound`.

The upload quota (`check_upload_quota`) counts, per user, the files that wait or stay on
their behalf: chat attachments not sent yet and knowledge files (failed ones do not count).
Sent attachments belong to their conversation and files the model made are not uploads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.db import session_scope
from core.errors import NotFound
from models import Conversation, FilePurpose, FileStatus, StoredFile, User
from models.stored_file import new_file_id
from services.accounts import audit
from services.assistants.manage import load_for_edit, load_for_use
from services.chat.conversations import owned_conversation
from services.files import uploads
from services.files.images import IMAGE_MIMES, process_image
from services.files.paths import (
    relative_path,
    remove_relative,
    write_atomically,
)

FILE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
NOT_FOUND = "File not found"
_PENDING_PURPOSES = (FilePurpose.attachment, FilePurpose.image)


@dataclass(frozen=True)
class UploadUsage:
    """What counts against a user's upload quota."""

    files: int
    bytes: int


def _counts_against_quota(purpose: FilePurpose, message_id: int | None) -> bool:
    return purpose == FilePurpose.knowledge or (purpose in _PENDING_PURPOSES and message_id is None)


def upload_usage(session: Session, user_id: int) -> UploadUsage:
    """The user's unsent attachments and knowledge files: how many, and their bytes."""
    files, size = session.exec(
        select(func.count(), func.coalesce(func.sum(StoredFile.size), 0))
        .select_from(StoredFile)
        .where(StoredFile.owner_id == user_id)
        .where(StoredFile.status != FileStatus.failed)
        .where(
            sa.or_(
                StoredFile.purpose == FilePurpose.knowledge,
                sa.and_(StoredFile.purpose.in_(_PENDING_PURPOSES), StoredFile.message_id.is_(None)),
            )
        )
    ).one()
    return UploadUsage(files=int(files), bytes=int(size))


def check_upload_quota(session: Session, user: User, size: int) -> None:
    """ValidationError (saying what is used and allowed) when one more file of `size` bytes
    would exceed the user's quota (USER_UPLOAD_QUOTA_FILES, USER_UPLOAD_QUOTA_MB).

    Locks the user's row, so one user's concurrent uploads are counted one after the other on
    MariaDB; the caller inserts the new row in the same transaction. The count comes after
    the lock, so it sees the upload that held it (READ COMMITTED: see `core.db`).
    """
    session.exec(select(User.id).where(User.id == user.id).with_for_update()).one_or_none()
    usage = upload_usage(session, user.id)
    uploads.check_quota(usage.files, usage.bytes, size)


def _check_links(
    session: Session, user: User, conversation_id: int | None, assistant_id: int | None
) -> None:
    if conversation_id is not None:
        owned_conversation(session, user, conversation_id)
    if assistant_id is not None:
        load_for_edit(session, user, assistant_id)


def store_file(
    user: User,
    data: bytes,
    name: str,
    mime: str,
    purpose: FilePurpose,
    *,
    conversation_id: int | None = None,
    assistant_id: int | None = None,
    message_id: int | None = None,
    width: int | None = None,
    height: int | None = None,
    thumbnail: bytes | None = None,
    provider_file_id: str | None = None,
    status: FileStatus = FileStatus.ready,
) -> StoredFile:
    """Keep already-validated bytes (and thumbnail) and record them; returns the new row.

    The conversation must be the user's own and the assistant one the user may edit
    (NotFound / PermissionDenied otherwise), and an upload must fit the user's quota
    (ValidationError); nothing is left on disk when recording fails.
    """
    file_id = new_file_id()
    main_path = relative_path(file_id)
    thumb_path = relative_path(file_id, thumbnail=True) if thumbnail is not None else None
    try:
        with session_scope() as session:
            if _counts_against_quota(purpose, message_id):
                check_upload_quota(session, user, len(data))
            _check_links(session, user, conversation_id, assistant_id)
            write_atomically(main_path, data)
            if thumb_path is not None:
                write_atomically(thumb_path, thumbnail)
            row = StoredFile(
                id=file_id,
                owner_id=user.id,
                provider_file_id=provider_file_id,
                name=uploads.sanitize_filename(name),
                size=len(data),
                mime=mime,
                purpose=purpose,
                status=status,
                width=width,
                height=height,
                storage_path=main_path,
                thumbnail_path=thumb_path,
                assistant_id=assistant_id,
                conversation_id=conversation_id,
                message_id=message_id,
            )
            session.add(row)
            session.flush()
    except BaseException:
        remove_relative(main_path)
        remove_relative(thumb_path)
        raise
    return row


def _renamed(name: str, extension: str) -> str:
    clean = uploads.sanitize_filename(name)
    stem = clean.rsplit(".", 1)[0] if "." in clean else clean
    return f"{stem}.{extension}"


def store_image(
    user: User,
    data: bytes,
    name: str,
    *,
    conversation_id: int | None = None,
    message_id: int | None = None,
    purpose: FilePurpose = FilePurpose.image,
) -> StoredFile:
    """Validate, re-encode (see `services.files.images`) and keep an image with its thumbnail.

    The stored name keeps the user's stem with the extension of the re-encoded format.
    """
    processed = process_image(data, uploads.sanitize_filename(name))
    return store_file(
        user,
        processed.data,
        _renamed(name, processed.extension),
        processed.mime,
        purpose,
        conversation_id=conversation_id,
        message_id=message_id,
        width=processed.width,
        height=processed.height,
        thumbnail=processed.thumbnail,
    )


def store_attachment(
    user: User,
    data: bytes,
    name: str,
    conversation_id: int,
    status: FileStatus = FileStatus.uploading,
) -> StoredFile:
    """Keep a document attached in a conversation, after the same checks as knowledge files.

    The row starts as `uploading`; the chat service records the provider file id when the
    upstream upload is done (see docs/files.md for where each type goes). A document read
    here (no Files API) starts `ready`.
    """
    clean = uploads.sanitize_filename(name)
    uploads.check_size(clean, len(data))
    mime = uploads.sniff_document(data, clean)
    return store_file(
        user,
        data,
        clean,
        mime,
        FilePurpose.attachment,
        conversation_id=conversation_id,
        status=status,
    )


def _may_read(session: Session, user: User, row: StoredFile) -> bool:
    if row.owner_id == user.id:
        return True
    if row.conversation_id is not None:
        conversation = session.get(Conversation, row.conversation_id)
        if conversation is not None and conversation.owner_id == user.id:
            return True
    if row.assistant_id is not None:
        try:
            load_for_use(session, user, row.assistant_id)
        except NotFound:
            return False
        return True
    return False


def get_file_for_user(user: User, file_id: str) -> StoredFile:
    """The file if `user` may read it, else NotFound (also for malformed or unknown ids)."""
    if not isinstance(file_id, str) or not FILE_ID_RE.match(file_id):
        raise NotFound(NOT_FOUND)
    with session_scope() as session:
        row = session.get(StoredFile, file_id)
        if row is None:
            raise NotFound(NOT_FOUND)
        if not _may_read(session, user, row):
            audit.record("access.refused", user, kind="file", id=file_id)
            raise NotFound(NOT_FOUND)
        return row


def delete_file(user: User, file_id: str) -> None:
    """Remove a file the user owns (row and bytes); NotFound for anything else."""
    with session_scope() as session:
        row = session.get(StoredFile, file_id) if FILE_ID_RE.match(file_id or "") else None
        if row is None or row.owner_id != user.id:
            raise NotFound(NOT_FOUND)
        paths = (row.storage_path, row.thumbnail_path)
        session.delete(row)
    for relative in paths:
        remove_relative(relative)


def conversation_images(user: User, conversation_id: int) -> list[StoredFile]:
    """Every stored image of the user's conversation, oldest first (the gallery)."""
    with session_scope() as session:
        owned_conversation(session, user, conversation_id)
        rows = session.exec(
            select(StoredFile)
            .where(StoredFile.conversation_id == conversation_id)
            .where(StoredFile.mime.in_(sorted(IMAGE_MIMES)))
            .where(StoredFile.storage_path.is_not(None))
            .order_by(StoredFile.created_at, StoredFile.id)
        )
        return list(rows)
