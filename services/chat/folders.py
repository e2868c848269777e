"""Organizing conversations: folders, pins, the archive and actions on several at once.

Every function takes the acting user and touches only that user's folders and conversations
(another user's look missing: `NotFound`). Deleting a folder moves its conversations out.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import Conversation, Folder, User, utcnow
from services.accounts.permissions import active_actor
from services.chat.conversations import delete_conversation, owned_conversation

FOLDER_NAME_MAX = 100
FOLDERS_MAX = 200


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Enter a folder name.", "name")
    if len(name) > FOLDER_NAME_MAX:
        raise ValidationError(f"Keep the name under {FOLDER_NAME_MAX} characters.", "name")
    return name


def owned_folder(session: Session, user: User, folder_id: int) -> Folder:
    """The user's folder in this session, else NotFound (also for other users')."""
    folder = session.get(Folder, folder_id)
    if folder is None or folder.owner_id != user.id:
        raise NotFound("Folder not found")
    return folder


def list_folders(user: User) -> list[Folder]:
    """The user's folders by name."""
    with session_scope() as session:
        active_actor(session, user)
        return folders_in(session, user)


def folders_in(session: Session, user: User) -> list[Folder]:
    """`list_folders` in the caller's session."""
    return list(
        session.exec(
            select(Folder).where(Folder.owner_id == user.id).order_by(Folder.name, Folder.id)
        )
    )


def create_folder(user: User, name: str) -> Folder:
    """A new folder (names are trimmed, 1-100 characters)."""
    name = _clean_name(name)
    with session_scope() as session:
        active_actor(session, user)
        count = session.scalar(
            sa.select(sa.func.count()).select_from(Folder).where(Folder.owner_id == user.id)
        )
        if count >= FOLDERS_MAX:
            raise ValidationError(f"You can have up to {FOLDERS_MAX} folders.", "name")
        folder = Folder(owner_id=user.id, name=name)
        session.add(folder)
        session.flush()
        return folder


def rename_folder(user: User, folder_id: int, name: str) -> Folder:
    """Give a folder a new name."""
    name = _clean_name(name)
    with session_scope() as session:
        active_actor(session, user)
        folder = owned_folder(session, user, folder_id)
        folder.name = name
        folder.updated_at = utcnow()
        session.add(folder)
        return folder


def delete_folder(user: User, folder_id: int) -> int:
    """Delete a folder; its conversations move out (to no folder). Returns how many moved."""
    with session_scope() as session:
        active_actor(session, user)
        folder = owned_folder(session, user, folder_id)
        moved = session.execute(
            sa.update(Conversation)
            .where(Conversation.owner_id == user.id, Conversation.folder_id == folder.id)
            .values(folder_id=None)
        ).rowcount
        session.delete(folder)
        return moved


def _owned_ids(session: Session, user: User, conversation_ids: Iterable[int]) -> list[int]:
    """The given ids, all the user's (NotFound if any is missing or someone else's)."""
    ids = sorted(set(conversation_ids))
    for conversation_id in ids:
        owned_conversation(session, user, conversation_id)
    return ids


def move_conversations(user: User, conversation_ids: Iterable[int], folder_id: int | None) -> None:
    """Put conversations into a folder of the user's (None: out of any folder)."""
    with session_scope() as session:
        if folder_id is not None:
            owned_folder(session, user, folder_id)
        ids = _owned_ids(session, user, conversation_ids)
        session.execute(
            sa.update(Conversation).where(Conversation.id.in_(ids)).values(folder_id=folder_id)
        )


def set_pinned(user: User, conversation_id: int, pinned: bool) -> None:
    """Pin a conversation to the top of the list, or unpin it."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        conversation.pinned = pinned
        session.add(conversation)


def set_archived(user: User, conversation_ids: Iterable[int], archived: bool) -> None:
    """Move conversations to the archive (out of the list, still searchable) or back."""
    with session_scope() as session:
        ids = _owned_ids(session, user, conversation_ids)
        session.execute(
            sa.update(Conversation).where(Conversation.id.in_(ids)).values(archived=archived)
        )


def delete_conversations(user: User, conversation_ids: Iterable[int]) -> int:
    """Delete several conversations (each with its messages and files); all must be the user's."""
    with session_scope() as session:
        ids = _owned_ids(session, user, conversation_ids)
    for conversation_id in ids:
        delete_conversation(user, conversation_id)
    return len(ids)
