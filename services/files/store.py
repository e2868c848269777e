"""Files and images we keep: bytes under DATA_DIR/files, a StoredFile row, and who may read them.

Bytes live at `files/<first two hex of id>/<id>` (thumbnail: `<id>.thumb`) where the id is the
row's unguessable 128-bit hex id; the user's file name is only ever a column, never a path.
`storage_path` holds the path relative to DATA_DIR so the data directory can move.

Who may read a file (`get_file_for_user`): its owner; the owner of the conversation it belongs
to; anyone who may use the assistant it belongs to (owner, shared, admin). Everyone else gets
NotFound, exactly as for a file that does not exist. Blocking: call through `run.io_bound`.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

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
    (NotFound / PermissionDenied otherwise); nothing is left on disk when recording fails.
    """
    file_id = new_file_id()
    main_path = relative_path(file_id)
    thumb_path = relative_path(file_id, thumbnail=True) if thumbnail is not None else None
    try:
        with session_scope() as session:
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


def store_attachment(user: User, data: bytes, name: str, conversation_id: int) -> StoredFile:
    """Keep a document attached in a conversation, after the same checks as knowledge files.

    The row starts as `uploading`; the chat service records the provider file id when the
    upstream upload is done (see docs/files.md for where each type goes).
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
        status=FileStatus.uploading,
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
