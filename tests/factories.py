"""Shared test factories: real rows in the test's real database (SQLite or MariaDB).

`make_user` signs up through the real account service (hashing, validation, and the rule that
the first account becomes the admin); the `add_*` helpers insert rows directly, to seed usage,
budgets and dashboards at chosen times and costs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.db import session_scope
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    PriceSource,
    SpendEntry,
    SpendKind,
    User,
)
from services.accounts.users import create_user

PASSWORD = "password123"


def make_user(name: str, password: str = PASSWORD, *, email: str | None = None) -> User:
    """A new account signed up as `name` (the first account of a test is the admin)."""
    return create_user(name, password, email=email)


def add_assistant(owner: User, name: str = "Helper", **fields: object) -> Assistant:
    """An assistant owned by `owner`."""
    with session_scope() as session:
        assistant = Assistant(owner_id=owner.id, name=name, model="gpt-4.1-mini", **fields)
        session.add(assistant)
        session.flush()
        return assistant


def add_conversation(owner: User, assistant: Assistant | None, title: str = "Chat") -> int:
    """A conversation id owned by `owner`."""
    with session_scope() as session:
        conversation = Conversation(
            owner_id=owner.id, assistant_id=assistant.id if assistant else None, title=title
        )
        session.add(conversation)
        session.flush()
        return conversation.id


def add_reply(
    conversation_id: int,
    when: datetime,
    cost: int | None,
    model: str = "gpt-4.1-mini",
    input_tokens: int = 100,
    output_tokens: int = 50,
) -> None:
    """A user message and an assistant reply at `when` with the given cost and tokens, and
    the reply's ledger row, as a finished turn leaves them."""
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        owner = session.get(User, conversation.owner_id)
        assistant = (
            session.get(Assistant, conversation.assistant_id) if conversation.assistant_id else None
        )
        conversation.message_count += 2
        conversation.updated_at = max(conversation.updated_at, when)
        session.add(conversation)
        session.add(
            ConversationMessage(
                conversation_id=conversation_id,
                role=MessageRole.user,
                content="question",
                created_at=when,
            )
        )
        session.add(
            ConversationMessage(
                conversation_id=conversation_id,
                role=MessageRole.assistant,
                content="answer",
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_micros=cost,
                created_at=when,
            )
        )
        session.add(
            SpendEntry(
                kind=SpendKind.reply,
                created_at=when,
                user_id=owner.id,
                user_label=owner.username,
                assistant_id=assistant.id if assistant else None,
                assistant_label=assistant.name if assistant else "",
                conversation_id=conversation_id,
                conversation_label=conversation.title,
                model=model,
                model_alias=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_micros=cost or 0,
                price_source=PriceSource.usage if cost is not None else PriceSource.unpriced,
            )
        )


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, tzinfo=UTC)
