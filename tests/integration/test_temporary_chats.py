"""Temporary chats: never listed or searched, deleted when closed or after
TEMPORARY_CHAT_HOURS, and their spend still counts (the ledger outlives them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.db import session_scope
from models import Conversation, SpendEntry, User, utcnow
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation, temporary
from services.chat import turn as chat
from services.chat.search import search_conversations
from services.usage.budgets import Budget, spent_micros
from simulator.server import SimulatorServer
from tests.factories import add_assistant, add_reply, make_user


@pytest.fixture
def alice(database: str) -> User:
    return make_user("alice")


def test_temporary_chats_are_not_listed_or_searched(alice: User) -> None:
    helper = add_assistant(alice)
    kept = conversations.create_conversation(alice, helper.id)
    temp = conversations.create_conversation(alice, helper.id, temporary=True)
    add_reply(temp.id, utcnow(), 1000)
    conversations.rename_conversation(alice, temp.id, "answer secret")
    assert [i.id for i in conversations.list_conversations(alice).items] == [kept.id]
    assert search_conversations(alice, "answer").hits == []
    assert conversations.get_conversation(alice, temp.id).temporary  # but it opens


async def test_closing_deletes_a_temporary_chat_and_its_real_spend_still_counts(
    alice: User, llm_env: SimulatorServer
) -> None:
    helper = create_assistant(alice, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    kept = conversations.create_conversation(alice, helper.id)
    temp = conversations.create_conversation(alice, helper.id, temporary=True)
    turn = await chat.send(alice, temp.id, "A question that costs money")  # a real SDK turn
    await generation.wait(turn.assistant_message_id)
    budget = Budget("user", alice.id, 10**9, "your monthly budget", "an administrator")
    with session_scope() as session:
        spent = spent_micros(session, budget)
    assert spent > 0
    assert temporary.discard_temporary(alice, temp.id)
    assert not temporary.discard_temporary(alice, kept.id)  # an ordinary chat stays
    assert not temporary.discard_temporary(make_user("bob"), kept.id)
    with session_scope() as session:
        assert session.get(Conversation, temp.id) is None
        assert session.get(Conversation, kept.id) is not None
        rows = list(
            session.scalars(sa.select(SpendEntry).where(SpendEntry.conversation_id == temp.id))
        )
        assert rows and sum(row.cost_micros for row in rows) == spent
        assert spent_micros(session, budget) == spent  # the budget still counts it


def test_the_periodic_job_purges_after_the_configured_hours(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORARY_CHAT_HOURS", "2")
    from core.config import get_settings

    get_settings.cache_clear()
    helper = add_assistant(alice)
    old = conversations.create_conversation(alice, helper.id, temporary=True)
    fresh = conversations.create_conversation(alice, helper.id, temporary=True)
    normal = conversations.create_conversation(alice, helper.id)
    with session_scope() as session:
        for conversation_id in (old.id, normal.id):
            session.get(Conversation, conversation_id).created_at = utcnow() - timedelta(hours=3)
    assert temporary.purge_expired() == 1
    with session_scope() as session:
        assert session.get(Conversation, old.id) is None
        assert session.get(Conversation, fresh.id) is not None
        assert session.get(Conversation, normal.id) is not None
    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    assert temporary.purge_expired(later) == 1  # `fresh` now too, never `normal`
