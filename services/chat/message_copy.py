"""Writing copied messages into a new conversation (share copies, imports).

Copies are text with their role and web citations: no tokens, no cost (nothing was billed
for them here) and no files (those belong to the original). Helpers take the caller's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from models import Conversation, ConversationMessage, MessageRole, MessageStatus, utcnow

_KEPT_STATUSES = {MessageStatus.complete, MessageStatus.stopped, MessageStatus.incomplete}


@dataclass
class CopiedMessage:
    """One message to write: `role` user/assistant, its text, when and web citations."""

    role: MessageRole
    content: str
    created_at: datetime | None = None
    status: MessageStatus = MessageStatus.complete
    citations: list[dict] = field(default_factory=list)
    model: str | None = None


def web_citations(citations: list[dict] | None) -> list[dict]:
    """Only the citations of web pages (file citations point at files left behind)."""
    return [
        {"kind": "url", "title": c.get("title"), "url": c.get("url")}
        for c in citations or []
        if c.get("kind") == "url" and c.get("url")
    ]


def snapshot_status(status: str | None) -> MessageStatus:
    """A copied message's status: complete, stopped or incomplete (anything else: complete)."""
    try:
        parsed = MessageStatus(status or "complete")
    except ValueError:
        return MessageStatus.complete
    if parsed == MessageStatus.streaming:
        return MessageStatus.stopped
    return parsed if parsed in _KEPT_STATUSES else MessageStatus.complete


def new_message(
    conversation: Conversation, message: CopiedMessage, parent_id: int | None
) -> ConversationMessage:
    """The row for one copied message under `parent_id` (not added to a session)."""
    now = utcnow()
    return ConversationMessage(
        conversation_id=conversation.id,
        parent_id=parent_id,
        role=message.role,
        content=message.content,
        status=message.status,
        citations=message.citations,
        model=message.model,
        created_at=message.created_at or now,
        updated_at=now,
    )


def append_messages(
    session: Session, conversation: Conversation, messages: list[CopiedMessage]
) -> list[ConversationMessage]:
    """Add `messages` as one branch under the conversation's active leaf (each the parent of
    the next), make the last one the active leaf, and update count and time (flushed)."""
    rows: list[ConversationMessage] = []
    parent_id = conversation.active_message_id
    for message in messages:
        row = new_message(conversation, message, parent_id)
        session.add(row)
        session.flush()  # its id is the next one's parent
        rows.append(row)
        parent_id = row.id
    conversation.active_message_id = parent_id
    conversation.message_count += len(rows)
    conversation.updated_at = utcnow()
    session.add(conversation)
    return rows
