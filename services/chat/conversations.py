"""Conversations: create, list (paged, grouped by day), rename, delete, context window.

Conversations are private: every function takes the acting user and treats another user's
conversation exactly like a missing one (`NotFound`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import (
    AnswerFeedback,
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    MessageStatus,
    StoredFile,
    User,
    as_utc,
    utcnow,
)
from services.accounts import audit
from services.accounts.permissions import active_actor
from services.assistants.manage import get_assistant_for_use
from services.chat import tree
from services.files.paths import discard_bytes
from services.files.upstream import UpstreamObjects, purge_upstream
from services.usage.pricing import parse_usd

TITLE_MAX = 200
TITLE_WORDS = 8
LIST_PAGE = 50  # the list loads more on scroll / "Load more"
DEFAULT_TITLE = "New chat"
GROUPS = ("Pinned", "Today", "Yesterday", "Previous 7 days", "Older")


@dataclass(frozen=True)
class ConversationItem:
    """One row of the conversation list."""

    id: int
    title: str
    assistant_name: str
    updated_at: datetime
    pinned: bool = False
    archived: bool = False
    folder_id: int | None = None


@dataclass(frozen=True)
class ConversationView:
    """A conversation with what the chat page shows around it."""

    conversation: Conversation
    assistant: Assistant | None
    messages: list[ConversationMessage]  # the active branch, root to leaf
    parent_title: str | None
    continued_by_title: str | None
    branches: dict[int, tree.Branch] = field(default_factory=dict)  # ‹ 2/3 › per message


def create_conversation(user: User, assistant_id: int, temporary: bool = False) -> Conversation:
    """Start an empty conversation with an assistant the user may use (`temporary`: never
    listed or searched, deleted when closed or after TEMPORARY_CHAT_HOURS)."""
    assistant = get_assistant_for_use(user, assistant_id)
    with session_scope() as session:
        conversation = Conversation(
            owner_id=user.id, assistant_id=assistant.id, temporary=temporary
        )
        session.add(conversation)
        session.flush()
        session.refresh(conversation)
        return conversation


def open_new_chat(user: User, assistant_id: int, temporary: bool = False) -> Conversation:
    """What "New chat" opens: the user's untouched chat with this assistant if there is one
    (nothing sent, not archived, in no folder), else a new one. So clicking New chat again and
    again never piles up empty "New chat" rows: at most one waits per assistant."""
    get_assistant_for_use(user, assistant_id)  # NotFound when the user may no longer use it
    if not temporary:
        with session_scope() as session:
            active_actor(session, user)
            waiting = session.exec(
                select(Conversation)
                .where(
                    Conversation.owner_id == user.id,
                    Conversation.assistant_id == assistant_id,
                    Conversation.message_count == 0,
                    Conversation.temporary == sa.false(),
                    Conversation.archived == sa.false(),
                    Conversation.folder_id.is_(None),
                    Conversation.parent_id.is_(None),
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            ).first()
            if waiting is not None:
                return waiting
    return create_conversation(user, assistant_id, temporary)


def owned_conversation(session: Session, user: User, conversation_id: int) -> Conversation:
    """The user's conversation in this session, else NotFound (also for other users')."""
    active_actor(session, user)
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None and conversation.owner_id != user.id:
        audit.record("access.refused", user, kind="conversation", id=conversation_id)
    if conversation is None or conversation.owner_id != user.id:
        raise NotFound("Conversation not found")
    return conversation


def get_conversation(user: User, conversation_id: int) -> Conversation:
    """The user's conversation, else NotFound."""
    with session_scope() as session:
        return owned_conversation(session, user, conversation_id)


def load_thread(
    session: Session, user: User, conversation_id: int
) -> tuple[Conversation, Assistant | None, list[ConversationMessage]]:
    """The user's conversation with its assistant (None once deleted) and all its messages,
    every branch, in order."""
    conversation = owned_conversation(session, user, conversation_id)
    assistant = (
        session.get(Assistant, conversation.assistant_id) if conversation.assistant_id else None
    )
    return conversation, assistant, tree.all_messages(session, conversation.id)


def conversation_view(user: User, conversation_id: int) -> ConversationView:
    """Everything the chat page needs to show one conversation."""
    with session_scope() as session:
        return view_in(session, user, conversation_id)


def view_in(session: Session, user: User, conversation_id: int) -> ConversationView:
    """`conversation_view` in the caller's session."""
    conversation, assistant, messages = load_thread(session, user, conversation_id)
    path = tree.path_to(messages, conversation.active_message_id)
    return ConversationView(
        conversation=conversation,
        assistant=assistant,
        messages=path,
        parent_title=_linked_title(session, user, conversation.parent_id),
        continued_by_title=_linked_title(session, user, conversation.continued_by_id),
        branches=tree.branches(messages, path, conversation.active_message_id),
    )


def _linked_title(session: Session, user: User, conversation_id: int | None) -> str | None:
    if conversation_id is None:
        return None
    linked = session.get(Conversation, conversation_id)
    return linked.title if linked is not None and linked.owner_id == user.id else None


def get_message(user: User, message_id: int) -> ConversationMessage:
    """One message of one of the user's conversations, else NotFound."""
    with session_scope() as session:
        message = session.get(ConversationMessage, message_id)
        if message is None:
            raise NotFound("Message not found")
        owned_conversation(session, user, message.conversation_id)
        return message


@dataclass(frozen=True)
class ListScope:
    """Which part of the list: everything not archived, one folder, or the archive."""

    folder_id: int | None = None
    archived: bool = False


@dataclass(frozen=True)
class ConversationPage:
    """One page of the list (pinned first, then newest first); `has_more` if another follows."""

    items: list[ConversationItem]
    has_more: bool


def list_conversations(
    user: User, scope: ListScope = ListScope(), offset: int = 0, limit: int = LIST_PAGE
) -> ConversationPage:
    """A page of the user's conversations; temporary chats are never listed."""
    with session_scope() as session:
        active_actor(session, user)
        return conversation_items(session, user, scope, offset, limit)


def conversation_items(
    session: Session,
    user: User,
    scope: ListScope = ListScope(),
    offset: int = 0,
    limit: int = LIST_PAGE,
) -> ConversationPage:
    """`list_conversations` in the caller's session."""
    statement = (
        select(Conversation, Assistant.name)
        .join(Assistant, Assistant.id == Conversation.assistant_id, isouter=True)
        .where(Conversation.owner_id == user.id)
        .where(Conversation.temporary == sa.false())
        .where(Conversation.archived == scope.archived)
    )
    if scope.folder_id is not None:
        statement = statement.where(Conversation.folder_id == scope.folder_id)
    rows = session.exec(
        statement.order_by(
            Conversation.pinned.desc(), Conversation.updated_at.desc(), Conversation.id.desc()
        )
        .offset(offset)
        .limit(limit + 1)
    ).all()
    items = [
        ConversationItem(
            id=conversation.id,
            title=conversation.title,
            assistant_name=name or "Deleted assistant",
            updated_at=conversation.updated_at,
            pinned=conversation.pinned,
            archived=conversation.archived,
            folder_id=conversation.folder_id,
        )
        for conversation, name in rows[:limit]
    ]
    return ConversationPage(items, len(rows) > limit)


def group_by_day(
    items: list[ConversationItem], now: datetime | None = None
) -> list[tuple[str, list[ConversationItem]]]:
    """Split a list into Pinned, then Today / Yesterday / Previous 7 days / Older (UTC days)."""
    today = (now or utcnow()).date()
    groups: dict[str, list[ConversationItem]] = {name: [] for name in GROUPS}
    for item in items:
        age = (today - as_utc(item.updated_at).date()).days
        name = (
            "Pinned"
            if item.pinned
            else "Today"
            if age <= 0
            else "Yesterday"
            if age == 1
            else "Previous 7 days"
            if age <= 7
            else "Older"
        )
        groups[name].append(item)
    return [(name, members) for name, members in groups.items() if members]


def rename_conversation(user: User, conversation_id: int, title: str) -> Conversation:
    """Give a conversation a new title (1-200 characters)."""
    title = " ".join(title.split())
    if not title:
        raise ValidationError("Enter a title.", "title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"Keep the title under {TITLE_MAX} characters.", "title")
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        conversation.title = title
        conversation.title_source = "user"  # a title the user set always wins
        session.add(conversation)
        return conversation


def set_cost_cap(user: User, conversation_id: int, cap_usd: str | None) -> Conversation:
    """An optional dollar cap for one conversation ("" = none; "0" blocks it), beside the
    message cap: a send whose worst case would pass it is refused before any request."""
    micros = parse_usd(cap_usd, "cost_cap")
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        conversation.cost_cap_micros = micros
        session.add(conversation)
        return conversation


def delete_conversation(user: User, conversation_id: int) -> None:
    """Delete a conversation, its messages and its files (here and, best effort, upstream).

    Links from its neighbours (continued from / continued in) are cleared.
    """
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        files, upstream = _remove(session, conversation)
    discard_bytes(files)
    purge_upstream(upstream, "conversation", best_effort=True)


def purge_conversation(conversation_id: int) -> bool:
    """`delete_conversation` for the system's own jobs (no acting user); False if gone."""
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return False
        files, upstream = _remove(session, conversation)
    discard_bytes(files)
    purge_upstream(upstream, "conversation", best_effort=True)
    return True


def _remove(
    session: Session, conversation: Conversation
) -> tuple[list[StoredFile], UpstreamObjects]:
    """Delete the rows of a conversation; the caller discards the files after the commit."""
    files = list(
        session.exec(select(StoredFile).where(StoredFile.conversation_id == conversation.id))
    )
    upstream = UpstreamObjects(
        file_ids=[row.provider_file_id for row in files if row.provider_file_id],
        vector_store_ids=[conversation.vector_store_id] if conversation.vector_store_id else [],
    )
    session.execute(
        sa.update(Conversation)
        .where(Conversation.parent_id == conversation.id)
        .values(parent_id=None)
    )
    session.execute(
        sa.update(Conversation)
        .where(Conversation.continued_by_id == conversation.id)
        .values(continued_by_id=None)
    )
    session.execute(sa.delete(StoredFile).where(StoredFile.conversation_id == conversation.id))
    session.execute(
        sa.delete(AnswerFeedback).where(AnswerFeedback.conversation_id == conversation.id)
    )
    session.execute(
        sa.delete(ConversationMessage).where(ConversationMessage.conversation_id == conversation.id)
    )
    session.delete(conversation)
    return files, upstream


def title_from(text: str) -> str:
    """A short title from a first message: its first words, without markup."""
    words = " ".join(text.replace("#", " ").replace("`", " ").split()).split(" ")
    title = " ".join(words[:TITLE_WORDS])
    if len(words) > TITLE_WORDS:
        title += "…"
    return title[:80] or DEFAULT_TITLE


def context_messages(
    session: Session, conversation_id: int, exclude_id: int | None = None
) -> list[ConversationMessage]:
    """The last CONTEXT_MESSAGES messages of the active branch worth sending (oldest first).

    Empty assistant replies and the reply being generated (`exclude_id`) are left out; so
    are the other branches (a regenerated answer's siblings, an edited question's old text).
    """
    conversation = session.get(Conversation, conversation_id)
    limit = get_settings().context_messages
    if conversation is None or limit <= 0:
        return []
    window = limit + 4  # room for the reply being written and a failed empty one or two
    newest = tree.tail(session, conversation, window)
    picked = [m for m in newest if _sendable(m, exclude_id)]
    if len(picked) < limit and len(newest) == window:  # the branch goes further back
        picked = [m for m in tree.active_path(session, conversation) if _sendable(m, exclude_id)]
    return picked[-limit:]


def _sendable(message: ConversationMessage, exclude_id: int | None) -> bool:
    return message.id != exclude_id and (
        message.role == MessageRole.user
        or (message.content != "" and message.status != MessageStatus.streaming)
    )


def touch(conversation: Conversation) -> None:
    """Mark a conversation as just used (list order)."""
    conversation.updated_at = utcnow()
