"""Conversation titles written by a cheap model after the first exchange (`TITLE_MODEL`).

Until then a conversation is named after its first message (`title_from`). When the first
reply has been saved, `name_after_first_exchange` asks `TITLE_MODEL` for a short title: a
call billed like any other (reserved against the user's and the assistant's budgets first,
settled to a `title` ledger row after). A title the user set always wins: the model's title
is written only while `title_source` is still "message", in the same UPDATE. When the call
is refused (budget, limits) or fails, the first-message title stays; nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import ServiceError
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    MessageStatus,
    SpendKind,
    User,
)
from services.chat.conversations import TITLE_MAX, owned_conversation
from services.llm.base import LLMProvider, ProviderError, Usage
from services.llm.catalog import load_catalog
from services.usage import reservations
from services.usage.ledger import Call, Party, entries_for
from services.usage.pricing import estimate_tokens, worst_case_micros

log = logging.getLogger(__name__)

TITLE_INSTRUCTIONS = (
    "Write a title of at most six words for this conversation, in its language. "
    "Reply with the title only: no quotes, no trailing period."
)
TITLE_MAX_TOKENS = 32
SOURCE_CHARS = 2_000  # of each of the first question and answer


@dataclass(frozen=True)
class _TitleCall:
    """A title call reserved: what to ask, and whom it is billed to."""

    conversation_id: int
    model: str
    source: str
    reservation_id: int
    party: Party
    provider: LLMProvider


async def name_after_first_exchange(
    user: User, conversation_id: int, provider: LLMProvider
) -> str | None:
    """Give the conversation a model-written title after its first exchange; the title
    written, or None when there is nothing to do or the call was refused or failed."""
    try:
        call = await asyncio.to_thread(_reserve, user, conversation_id, provider)
    except ServiceError as exc:  # budget or limits: the first-message title stays
        log.info("No model title for conversation %s: %s", conversation_id, exc)
        return None
    return await _ask(call) if call is not None else None


def _reserve(user: User, conversation_id: int, provider: LLMProvider) -> _TitleCall | None:
    model = get_settings().title_model
    catalog = load_catalog(get_settings())
    if not model or catalog.get(model) is None:
        return None
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        if conversation.title_source != "message" or conversation.message_count != 2:
            return None
        first = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.id)
            .limit(2)
        ).all()
        roles = [m.role for m in first]
        answered = len(first) == 2 and first[1].status == MessageStatus.complete
        if roles != [MessageRole.user, MessageRole.assistant] or not answered:
            return None
        source = "\n\n".join(f"{m.role.value}: {m.content[:SOURCE_CHARS]}" for m in first)
        assistant = (
            session.get(Assistant, conversation.assistant_id) if conversation.assistant_id else None
        )
        reservations.lock_budgets(session, user.id, reservations.budgeted_id(assistant))
        worst = worst_case_micros(
            catalog.get(model),
            estimate_tokens(TITLE_INSTRUCTIONS) + estimate_tokens(source),
            TITLE_MAX_TOKENS,
            (),
            catalog.tool_prices,
        )
        hold = reservations.reserve(
            session, user, assistant, conversation, worst, SpendKind.title, model
        )
        party = Party.of(user, assistant, conversation)
        return _TitleCall(conversation.id, model, source, hold.id, party, provider)


async def _ask(call: _TitleCall) -> str | None:
    """Make the reserved call, then settle it and write the title in one transaction."""
    title, usage = None, None
    try:
        text, usage = await call.provider.complete_text(
            call.model, TITLE_INSTRUCTIONS, call.source, TITLE_MAX_TOKENS
        )
        title = clean_title(text)
    except ProviderError as exc:
        log.info("Title call failed (%s); the first-message title stays", exc.category)
        usage = exc.usage
    except BaseException:
        await asyncio.to_thread(_settle, call, None, None)
        raise
    return await asyncio.to_thread(_settle, call, title, usage)


def clean_title(text: str) -> str | None:
    """The model's answer as a title: one line, no quotes or final period, TITLE_MAX long."""
    line = re.sub(r"^title:\s*", "", " ".join(text.split()), flags=re.IGNORECASE)
    line = line.strip("\"'“”‘’*#` ").rstrip(".").strip()
    return line[:TITLE_MAX] or None


def _settle(call: _TitleCall, title: str | None, usage: Usage | None) -> str | None:
    catalog = load_catalog(get_settings())
    rows = []
    if usage is not None:
        billed = Call.from_usage(SpendKind.title, call.model, None, usage)
        rows = entries_for(call.party, billed, catalog.get(call.model), catalog.tool_prices)
    with session_scope() as session:
        reservations.lock_budgets(session, call.party.user_id, call.party.assistant_id)
        reservations.settle(session, call.reservation_id, rows)
        if title is None:
            return None
        table = Conversation.__table__
        written = session.execute(
            sa.update(table)
            .where(table.c.id == call.conversation_id, table.c.title_source == "message")
            .values(title=title, title_source="model")
        )
        return title if written.rowcount else None
