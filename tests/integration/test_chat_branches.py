"""Branches end to end: the real SDK against the simulator, on SQLite and MariaDB.

Every action names the message it acts on; the simulator's recorded requests
(`/_sim/requests`) prove that only the active branch's path is sent as context.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import Conversation, ConversationMessage, MessageRole, SpendEntry, User
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import branches, conversations, export, generation
from services.chat import turn as chat
from simulator.server import SimulatorServer
from tests.factories import make_user


@pytest.fixture
def owner(database: str, llm_env: SimulatorServer) -> User:
    return make_user("alice")


@pytest.fixture
def chat_id(owner: User) -> int:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    return conversations.create_conversation(owner, assistant.id).id


async def done(turn: chat.Turn) -> ConversationMessage:
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        return session.get(ConversationMessage, turn.assistant_message_id)


def sent_context(sim: SimulatorServer) -> list[str]:
    """The input texts of the last model request, as the simulator recorded it over HTTP."""
    root = sim.base_url.removesuffix("/v1")
    with httpx.Client(base_url=root, headers={"Authorization": f"Bearer {sim.token}"}) as http:
        recorded = http.get("/_sim/requests").json()
    body = [r for r in recorded if r["path"] == "/v1/responses"][-1]["body"]
    return [item["content"] for item in body["input"]]


def shown(owner: User, chat_id: int) -> list[str]:
    return [m.content for m in conversations.conversation_view(owner, chat_id).messages]


async def two_turns(owner: User, chat_id: int) -> tuple[chat.Turn, chat.Turn]:
    first = await chat.send(owner, chat_id, "echo: A")
    await done(first)
    second = await chat.send(owner, chat_id, "echo: B")
    await done(second)
    return first, second


async def test_edit_an_earlier_message_branches_and_keeps_the_later_ones(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    """Send A, send B, edit A: B and its answer stay, on the old branch."""
    first, second = await two_turns(owner, chat_id)
    edited = await done(await chat.edit(owner, chat_id, "echo: A2", first.user_message_id))
    assert edited.content == "A2"
    assert sent_context(llm_env) == ["echo: A2"]  # the new branch only: no B
    assert shown(owner, chat_id) == ["echo: A2", "A2"]
    view = conversations.conversation_view(owner, chat_id)
    switch = view.branches[view.messages[0].id]
    assert (switch.index, switch.count) == (2, 2)
    assert switch.previous_id == first.user_message_id
    branches.show_branch(owner, chat_id, switch.previous_id)
    assert shown(owner, chat_id) == ["echo: A", "A", "echo: B", "B"]
    # Going on from the old branch sends that branch as context.
    await done(await chat.send(owner, chat_id, "echo: C"))
    assert sent_context(llm_env) == ["echo: A", "A", "echo: B", "B", "echo: C"]


async def test_regenerate_an_older_answer_regenerates_that_answer(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    first, second = await two_turns(owner, chat_id)
    again = await done(await chat.regenerate(owner, chat_id, first.assistant_message_id))
    assert sent_context(llm_env) == ["echo: A"]
    assert again.parent_id == first.user_message_id
    assert shown(owner, chat_id) == ["echo: A", "A"]
    view = conversations.conversation_view(owner, chat_id)
    switch = view.branches[again.id]
    assert (switch.index, switch.count, switch.previous_id) == (2, 2, first.assistant_message_id)
    # The newest answer was left alone, on the earlier branch.
    branches.show_branch(owner, chat_id, first.assistant_message_id)
    view = conversations.conversation_view(owner, chat_id)
    assert [m.id for m in view.messages][-1] == second.assistant_message_id


async def test_every_sibling_stays_counted(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    first, _ = await two_turns(owner, chat_id)
    await done(await chat.regenerate(owner, chat_id, first.assistant_message_id))
    await done(await chat.edit(owner, chat_id, "echo: A3", first.user_message_id))
    branches.show_branch(owner, chat_id, first.user_message_id)
    with session_scope() as session:
        conversation = session.get(Conversation, chat_id)
        rows = session.exec(
            select(ConversationMessage).where(ConversationMessage.conversation_id == chat_id)
        ).all()
        spent = session.exec(select(SpendEntry).where(SpendEntry.conversation_id == chat_id)).all()
    answers = [r for r in rows if r.role == MessageRole.assistant]
    assert len(answers) == 4 and all(a.cost_micros for a in answers)
    assert conversation.cost_micros == sum(a.cost_micros for a in answers)
    assert conversation.cost_micros == sum(e.cost_micros for e in spent)
    assert conversation.message_count == len(rows) == 7


async def test_actions_check_the_message_belongs_to_the_conversation_and_user(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    first, second = await two_turns(owner, chat_id)
    with pytest.raises(ValidationError, match="Only an answer"):
        await chat.regenerate(owner, chat_id, first.user_message_id)
    with pytest.raises(ValidationError, match="Only your own"):
        await chat.edit(owner, chat_id, "x", first.assistant_message_id)
    other = conversations.create_conversation(
        owner, conversations.get_conversation(owner, chat_id).assistant_id
    )
    with pytest.raises(NotFound):  # an id from another conversation
        await chat.regenerate(owner, other.id, first.assistant_message_id)
    with pytest.raises(NotFound):
        branches.show_branch(owner, other.id, first.user_message_id)
    intruder = make_user("bob")
    for action in (
        lambda: chat.regenerate(intruder, chat_id, first.assistant_message_id),
        lambda: chat.edit(intruder, chat_id, "x", first.user_message_id),
    ):
        with pytest.raises(NotFound):
            await action()
    with pytest.raises(NotFound):
        branches.show_branch(intruder, chat_id, first.user_message_id)
    with pytest.raises(NotFound):
        branches.fork_conversation(intruder, chat_id, first.user_message_id)
    assert shown(owner, chat_id) == ["echo: A", "A", "echo: B", "B"]


async def test_continue_in_a_new_chat_from_any_message(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    first, _ = await two_turns(owner, chat_id)
    fork = branches.fork_conversation(owner, chat_id, first.assistant_message_id)
    assert fork.owner_id == owner.id and fork.id != chat_id
    assert fork.title.endswith("(branch)") and fork.cost_micros == 0
    assert shown(owner, fork.id) == ["echo: A", "A"]
    assert shown(owner, chat_id) == ["echo: A", "A", "echo: B", "B"]
    await done(await chat.send(owner, fork.id, "echo: D"))
    assert sent_context(llm_env) == ["echo: A", "A", "echo: D"]
    with session_scope() as session:
        copies = session.exec(
            select(ConversationMessage).where(ConversationMessage.conversation_id == fork.id)
        ).all()
    assert [c.cost_micros for c in copies[:2]] == [None, None]  # spend stays on the original


async def test_exports_follow_the_branch_and_the_json_holds_the_tree(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    first, _ = await two_turns(owner, chat_id)
    await done(await chat.edit(owner, chat_id, "echo: A2", first.user_message_id))
    markdown = export.export_markdown(owner, chat_id)
    assert "echo: A2" in markdown and "echo: B" not in markdown
    assert "4 more on other branches" in markdown
    data = export.export_json(owner, chat_id)
    by_id = {m["id"]: m for m in data["messages"]}
    assert len(by_id) == 6
    assert by_id[first.assistant_message_id]["parent_id"] == first.user_message_id
    leaf = by_id[data["conversation"]["active_message_id"]]
    assert leaf["content"] == "A2"
    assert by_id[leaf["parent_id"]]["parent_id"] is None


async def test_old_linear_history_can_be_regenerated_and_edited(
    owner: User, chat_id: int, llm_env: SimulatorServer
) -> None:
    """Rows stored before the tree (no parent, no active leaf) read as one branch."""
    with session_scope() as session:
        for index, role in enumerate([MessageRole.user, MessageRole.assistant] * 2):
            session.add(
                ConversationMessage(conversation_id=chat_id, role=role, content=f"echo: m{index}")
            )
        stored = session.get(Conversation, chat_id)
        stored.message_count = 4
        session.add(stored)
    view = conversations.conversation_view(owner, chat_id)
    assert len(view.messages) == 4 and view.branches == {}
    await done(await chat.regenerate(owner, chat_id, view.messages[1].id))
    assert sent_context(llm_env) == ["echo: m0"]
    assert shown(owner, chat_id) == ["echo: m0", "m0"]
