"""Groups: budgets held by the same reservations, allowed models, sharing with chosen groups,
the SSO claim mapping; on SQLite and MariaDB. Sends run through the real SDK and simulator."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import BudgetExceeded, ModelNotAllowed, NotFound, PermissionDenied
from models import GroupMember, User
from services.accounts import groups
from services.accounts.users import create_user
from services.assistants.manage import (
    AssistantInput,
    create_assistant,
    get_assistant_for_use,
    list_assistants,
    update_assistant,
)
from services.chat import conversations, generation
from services.chat import turn as chat
from services.usage import spend as usage
from simulator.server import SimulatorServer
from tests.factories import add_conversation, add_reply


@pytest.fixture
def team(database: str, llm_env: SimulatorServer) -> tuple[User, User, User]:
    """root (the admin), alice and bob."""
    return (
        create_user("root", "password123"),
        create_user("alice", "password123"),
        create_user("bob", "password123"),
    )


def new_chat(owner: User, model: str = "gpt-4.1-mini") -> int:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model=model))
    return conversations.create_conversation(owner, assistant.id).id


def model_calls(sim: SimulatorServer) -> int:
    return sum(1 for r in sim.requests if r["path"] in ("/v1/responses", "/v1/chat/completions"))


def test_members_cannot_manage_groups(team) -> None:
    root, alice, _ = team
    group = groups.create_group(root, "engineering")
    for call in (
        lambda: groups.list_groups(alice),
        lambda: groups.create_group(alice, "mine"),
        lambda: groups.delete_group(alice, group.id),
        lambda: groups.set_group_budget(alice, group.id, "1"),
        lambda: groups.set_allowed_models(alice, group.id, "gpt-4.1-mini"),
        lambda: groups.add_member(alice, group.id, "alice"),
        lambda: groups.remove_member(alice, group.id, alice.id),
    ):
        with pytest.raises(PermissionDenied):
            call()


async def test_group_budget_counts_every_member_and_refuses_before_the_call(
    team, llm_env: SimulatorServer
) -> None:
    root, alice, bob = team
    group = groups.create_group(root, "engineering")
    groups.add_member(root, group.id, "alice")
    groups.add_member(root, group.id, "bob")
    groups.set_group_budget(root, group.id, "0.01")
    add_reply(add_conversation(bob, None), usage.month_start(), 9_999)  # bob spent the budget
    chat_id = new_chat(alice)
    calls = model_calls(llm_env)
    with pytest.raises(BudgetExceeded, match="your group “engineering”"):
        await chat.send(alice, chat_id, "Hello")
    assert model_calls(llm_env) == calls  # refused before any request
    rows = {row.name: row for row in groups.list_groups(root)}
    assert rows["engineering"].month_spent_micros == 9_999
    groups.set_group_budget(root, group.id, "")
    turn = await chat.send(alice, chat_id, "Hello")
    await generation.wait(turn.assistant_message_id)


async def test_a_user_in_several_groups_is_checked_against_each(team) -> None:
    root, alice, _ = team
    roomy = groups.create_group(root, "roomy")
    tight = groups.create_group(root, "tight")
    for group, budget in ((roomy, "100"), (tight, "0")):
        groups.add_member(root, group.id, "alice")
        groups.set_group_budget(root, group.id, budget)
    with pytest.raises(BudgetExceeded, match="your group “tight”"):
        await chat.send(alice, new_chat(alice), "Hello")


async def test_concurrent_sends_never_overshoot_a_group_budget(
    team, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two members sending at once: the group's rows are locked like a user's budget."""
    root, alice, bob = team
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "1000")
    monkeypatch.setenv("MAX_CONCURRENT_REPLIES", "50")
    get_settings.cache_clear()
    llm_env.configure(delay_ms=1500)
    group = groups.create_group(root, "engineering")
    groups.add_member(root, group.id, "alice")
    groups.add_member(root, group.id, "bob")
    groups.set_group_budget(root, group.id, "0.01")
    chats = [(member, new_chat(member)) for member in (alice, bob) for _ in range(6)]
    results = await asyncio.gather(
        *(chat.send(member, chat_id, "Tell me something") for member, chat_id in chats),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, chat.Turn)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(accepted) + len(refused) == 12 and accepted and refused
    for turn in accepted:
        await generation.wait(turn.assistant_message_id)
    spent = groups.list_groups(root)[0].month_spent_micros
    assert 0 < spent <= 10_000
    assert model_calls(llm_env) == len(accepted)


async def test_allowed_models_refuse_other_models_with_a_clear_message(
    team, llm_env: SimulatorServer
) -> None:
    root, alice, _ = team
    free_chat = new_chat(alice, "gpt-4.1-mini")  # no group yet: every model
    turn = await chat.send(alice, free_chat, "Hello")
    await generation.wait(turn.assistant_message_id)
    group = groups.create_group(root, "sales")
    groups.add_member(root, group.id, "alice")
    groups.set_allowed_models(root, group.id, "gpt-4o-mini, gpt-5-mini")
    calls = model_calls(llm_env)
    with pytest.raises(ModelNotAllowed, match="may not use the model gpt-4.1-mini"):
        await chat.send(alice, free_chat, "Hello again")
    assert model_calls(llm_env) == calls
    allowed = await chat.send(alice, new_chat(alice, "gpt-4o-mini"), "Hello")
    await generation.wait(allowed.assistant_message_id)
    open_group = groups.create_group(root, "open")  # a group without a list allows all
    groups.add_member(root, open_group.id, "alice")
    turn = await chat.send(alice, free_chat, "Hello once more")
    await generation.wait(turn.assistant_message_id)


def test_an_assistant_shared_with_chosen_groups(team) -> None:
    root, alice, bob = team
    group = groups.create_group(root, "engineering")
    groups.add_member(root, group.id, "alice")
    carol = create_user("carol", "password123")
    groups.add_member(root, group.id, "carol")
    assert groups.group_choices(alice) == {group.id: "engineering"}
    assert groups.group_choices(bob) == {}  # only the groups one is in
    shared = create_assistant(
        alice, AssistantInput(name="Team bot", shared=True, group_ids=[group.id])
    )
    assert get_assistant_for_use(carol, shared.id).id == shared.id
    assert [a.name for a in list_assistants(carol)] == ["Team bot"]
    with pytest.raises(NotFound):
        get_assistant_for_use(bob, shared.id)
    assert list_assistants(bob) == []
    assert get_assistant_for_use(root, shared.id)  # admins may open any
    with pytest.raises(Exception, match="only with groups you belong to"):
        create_assistant(bob, AssistantInput(name="Sneaky", shared=True, group_ids=[group.id]))
    update_assistant(alice, shared.id, AssistantInput(name="Team bot", shared=True))
    assert get_assistant_for_use(bob, shared.id).id == shared.id  # now the whole team


def test_groups_claim_adds_and_removes_sso_memberships_only(team) -> None:
    root, alice, _ = team
    engineering = groups.create_group(root, "engineering")
    sales = groups.create_group(root, "sales")
    groups.add_member(root, sales.id, "alice")  # by hand: the claim never removes it
    with session_scope() as session:
        joined = groups.sync_claimed_groups(session, alice, ["engineering", "not-a-group"])
    assert joined == ["engineering"]

    def memberships() -> dict[int, str]:
        with session_scope() as session:
            rows = session.exec(select(GroupMember).where(GroupMember.user_id == alice.id))
            return {row.group_id: row.source for row in rows}

    assert memberships() == {engineering.id: "sso", sales.id: "manual"}
    with session_scope() as session:
        groups.sync_claimed_groups(session, alice, [])
    assert memberships() == {sales.id: "manual"}
