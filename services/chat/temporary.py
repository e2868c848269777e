"""Temporary chats: never listed or searched; deleted when closed or after
TEMPORARY_CHAT_HOURS by the periodic job. Their spend stays in the ledger, whose rows outlive
any conversation."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound
from models import Conversation, User, utcnow
from services.chat.conversations import delete_conversation, owned_conversation, purge_conversation

log = logging.getLogger(__name__)


def discard_temporary(user: User, conversation_id: int) -> bool:
    """Delete the user's conversation if it is temporary (its page closed). True if deleted."""
    with session_scope() as session:
        try:
            conversation = owned_conversation(session, user, conversation_id)
        except NotFound:
            return False
        if not conversation.temporary:
            return False
    delete_conversation(user, conversation_id)
    return True


def purge_expired(now: datetime | None = None) -> int:
    """Delete every temporary chat started over TEMPORARY_CHAT_HOURS ago; returns how many."""
    cutoff = (now or utcnow()) - timedelta(hours=get_settings().temporary_chat_hours)
    with session_scope() as session:
        expired = session.exec(
            select(Conversation.id)
            .where(Conversation.temporary == True)  # noqa: E712 (SQL, not Python)
            .where(Conversation.created_at < cutoff)
        ).all()
    purged = sum(purge_conversation(conversation_id) for conversation_id in expired)
    if purged:
        log.info("Purged %d expired temporary chats", purged)
    return purged
