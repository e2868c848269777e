"""Monthly budgets: warning at 80%, refusal at 100%, in-flight replies, month rollover."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import BudgetExceeded
from models import ConversationMessage, MessageStatus, User
from services.accounts import admin
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from services.usage import spend as usage
from simulator.server import SimulatorServer
from tests.factories import add_assistant, add_conversation, add_reply, at, make_user

NOW = at(2026, 3, 20)


@pytest.fixture
def pair(database: str) -> tuple[User, User]:
    return make_user("alice"), make_user("bob")


def set_budget(user: User, usd: str | None) -> User:
    """Set the budget as the first account (the admin) does on the admin page."""
    with session_scope() as session:
        first_admin = session.exec(select(User).order_by(User.id)).first()
    return admin.set_budget(first_admin, user.id, usd)


def test_unlimited_without_budget(pair) -> None:
    alice, _ = pair
    add_reply(add_conversation(alice, None), NOW, 10**9)
    status = usage.budget_status(alice, now=NOW)
    assert (status.budget_micros, status.fraction, status.warning) == (None, None, None)
    assert status.used_micros == 10**9
    usage.check_budget(alice, add_assistant(alice), 10**9, now=NOW)


def test_warning_at_80_percent_and_refusal_at_100(pair) -> None:
    alice, _ = pair
    alice = set_budget(alice, "0.01")  # 10,000 micro-dollars
    assistant = add_assistant(alice)
    chat_id = add_conversation(alice, assistant)
    add_reply(chat_id, NOW, 7_900)
    assert usage.budget_status(alice, now=NOW).warning is None
    add_reply(chat_id, NOW, 100)
    status = usage.budget_status(alice, now=NOW)
    assert status.fraction == pytest.approx(0.8)
    assert "80%" in status.warning
    # 8,000 used: a 2,000 turn just fits, 2,001 would pass 100% and is refused up front.
    assert usage.check_budget(alice, assistant, 2_000, now=NOW).fraction == pytest.approx(0.8)
    with pytest.raises(BudgetExceeded, match="would pass your monthly budget"):
        usage.check_budget(alice, assistant, 2_001, now=NOW)
    add_reply(chat_id, NOW, 2_000)
    full = usage.budget_status(alice, now=NOW)
    assert full.fraction == pytest.approx(1.0) and "used all" in full.warning
    with pytest.raises(BudgetExceeded):
        usage.check_budget(alice, assistant, 0, now=NOW)


def test_month_rollover_resets_spend(pair) -> None:
    alice, _ = pair
    alice = set_budget(alice, "0.01")
    assistant = add_assistant(alice)
    add_reply(add_conversation(alice, assistant), at(2026, 3, 31, 23), 10_000)
    with pytest.raises(BudgetExceeded):
        usage.check_budget(alice, assistant, 1, now=at(2026, 3, 31, 23))
    april = at(2026, 4, 1, 0)
    assert usage.budget_status(alice, now=april).used_micros == 0
    usage.check_budget(alice, assistant, 1, now=april)


def test_default_budget_from_settings(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = pair
    monkeypatch.setenv("DEFAULT_MONTHLY_BUDGET_USD", "0.005")
    get_settings.cache_clear()
    add_reply(add_conversation(alice, None), NOW, 4_500)
    assert usage.budget_status(alice, now=NOW).budget_micros == 5_000
    assert usage.budget_status(alice, now=NOW).warning
    # An explicit budget wins over the default.
    bob = set_budget(bob, "1")
    assert usage.budget_status(bob, now=NOW).budget_micros == 1_000_000


def test_assistant_budget_counts_everyones_spend(pair) -> None:
    alice, bob = pair
    shared = add_assistant(alice, "Shared", shared=True, monthly_budget_micros=5_000)
    add_reply(add_conversation(alice, shared), NOW, 3_000)
    add_reply(add_conversation(bob, shared), NOW, 1_500)
    status = usage.budget_status(bob, shared, now=NOW)
    assert (status.scope, status.used_micros, status.budget_micros) == ("assistant", 4_500, 5_000)
    assert "this assistant" in status.warning
    with pytest.raises(BudgetExceeded, match="this assistant's monthly budget"):
        usage.check_budget(bob, shared, 600, now=NOW)
    # bob's own (unlimited) budget is unaffected with other assistants.
    usage.check_budget(bob, add_assistant(bob), 600, now=NOW)


async def test_in_flight_reply_finishes_then_sending_is_refused(
    database: str, llm_env: SimulatorServer
) -> None:
    alice = make_user("alice")
    assistant = create_assistant(alice, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    conversation = conversations.create_conversation(alice, assistant.id)
    alice = set_budget(alice, "1")
    llm_env.configure(tokens_per_s=400)
    turn = await chat.send(alice, conversation.id, "Tell me about budgets in a few words")
    # While the reply streams, the month's spend reaches the budget (e.g. another tab).
    add_reply(add_conversation(alice, None), usage.month_start(), 1_000_000)
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        reply = session.get(ConversationMessage, turn.assistant_message_id)
    assert reply.status == MessageStatus.complete
    assert reply.cost_micros and reply.cost_micros > 0
    status = usage.budget_status(alice)
    assert status.used_micros == 1_000_000 + reply.cost_micros and status.fraction > 1
    before = len(llm_env.requests)
    with pytest.raises(BudgetExceeded, match="monthly budget"):
        await chat.send(alice, conversation.id, "One more question")
    await asyncio.sleep(0)
    assert len(llm_env.requests) == before  # refused before the provider was called


def test_unknown_price_cannot_be_kept_within_a_budget(pair) -> None:
    alice, bob = pair
    assistant = add_assistant(alice)
    usage.check_budget(bob, assistant, None, now=NOW)  # no budget: unknown cost is allowed
    bob = set_budget(bob, "5")
    with pytest.raises(BudgetExceeded, match="price of .* is unknown"):
        usage.check_budget(bob, assistant, None, now=NOW)
