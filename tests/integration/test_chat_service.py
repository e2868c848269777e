"""The chat turn against the simulator with the real SDK, on SQLite and MariaDB."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import Conversation, ConversationMessage, MessageRole, MessageStatus, User
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from simulator.server import SimulatorServer
from tests.factories import make_user

INSTRUCTIONS = "You are terse and helpful."


@pytest.fixture
def owner(database: str, llm_env: SimulatorServer) -> User:
    return make_user("alice")


@pytest.fixture
def conversation(owner: User) -> Conversation:
    assistant = create_assistant(
        owner, AssistantInput(name="Helper", instructions=INSTRUCTIONS, model="gpt-4.1-mini")
    )
    return conversations.create_conversation(owner, assistant.id)


async def run_turn(turn: chat.Turn) -> ConversationMessage:
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        return session.get(ConversationMessage, turn.assistant_message_id)


def model_requests(sim: SimulatorServer) -> list[dict]:
    return [r for r in sim.requests if r["path"] == "/v1/responses"]


def add_history(conversation_id: int, count: int) -> None:
    """`count` linear messages in the old shape (no parents, no active leaf)."""
    with session_scope() as session:
        for index in range(count):
            role = MessageRole.user if index % 2 == 0 else MessageRole.assistant
            session.add(
                ConversationMessage(conversation_id=conversation_id, role=role, content=f"m{index}")
            )
        stored = session.get(Conversation, conversation_id)
        stored.message_count = count
        session.add(stored)


async def test_full_turn_persists_both_messages_with_usage_and_cost(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    turn = await chat.send(owner, conversation.id, "Explain streaming in a few words please")
    reply = await run_turn(turn)
    assert reply.status == MessageStatus.complete
    assert reply.content.startswith("Here is a simulated answer")
    assert reply.input_tokens > 0 and reply.output_tokens > 0
    assert reply.cost_micros and reply.cost_micros > 0
    assert reply.provider_response_id.startswith("resp_sim")
    assert reply.model == "gpt-4.1-mini"
    view = conversations.conversation_view(owner, conversation.id)
    assert [m.role for m in view.messages] == [MessageRole.user, MessageRole.assistant]
    assert view.messages[0].content == "Explain streaming in a few words please"
    assert view.conversation.title == "Explain streaming in a few words please"
    assert view.conversation.message_count == 2
    assert view.conversation.cost_micros == reply.cost_micros
    assert view.conversation.output_tokens == reply.output_tokens
    body = model_requests(llm_env)[-1]["body"]
    assert body["stream"] is True and "previous_response_id" not in body


async def test_context_is_instructions_summary_and_last_messages(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    add_history(conversation.id, 30)
    with session_scope() as session:
        stored = session.get(Conversation, conversation.id)
        stored.summary = "We talked about otters."
        session.add(stored)
    reply = await run_turn(await chat.send(owner, conversation.id, "and now?"))
    assert reply.status == MessageStatus.complete
    body = model_requests(llm_env)[-1]["body"]
    limit = get_settings().context_messages
    expected = [f"m{i}" for i in range(30 - (limit - 1), 30)] + ["and now?"]
    assert [item["content"] for item in body["input"]] == expected
    assert body["input"][-1]["role"] == "user" and body["input"][-2]["role"] == "assistant"
    assert body["instructions"] == (
        f"{INSTRUCTIONS}\n\n{chat.SUMMARY_HEADING}\nWe talked about otters."
    )


async def test_cap_splits_into_a_linked_conversation_with_a_summary(
    owner: User,
    conversation: Conversation,
    llm_env: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_MESSAGES_PER_CONVERSATION", "4")
    get_settings.cache_clear()
    for text in ("first question", "second question"):
        await run_turn(await chat.send(owner, conversation.id, text))
    turn = await chat.send(owner, conversation.id, "third question")
    reply = await run_turn(turn)
    assert turn.conversation_id != conversation.id
    assert turn.notice and "continues here" in turn.notice
    old = conversations.conversation_view(owner, conversation.id)
    new = conversations.conversation_view(owner, turn.conversation_id)
    assert old.conversation.continued_by_id == new.conversation.id
    assert new.conversation.parent_id == old.conversation.id
    assert new.parent_title == old.conversation.title
    assert new.conversation.summary  # made by one model call
    assert [m.content for m in new.messages][0] == "third question"
    summary_calls = [r for r in model_requests(llm_env) if not r["body"].get("stream")]
    assert len(summary_calls) == 1
    assert "first question" in summary_calls[0]["body"]["input"]
    carried = reply.tool_calls["carried"]
    assert carried[0]["kind"] == "summary" and carried[0]["cost_micros"] > 0
    assert new.conversation.cost_micros == reply.cost_micros  # the summary is counted
    assert chat.SUMMARY_HEADING in model_requests(llm_env)[-1]["body"]["instructions"]
    # Sending to the old conversation goes to its continuation.
    again = await chat.send(owner, conversation.id, "fourth")
    await run_turn(again)
    assert again.conversation_id == new.conversation.id


async def test_stop_mid_stream_keeps_partial_text_as_stopped(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    turn = await chat.send(owner, conversation.id, "[[sim:tokens=400]] [[sim:tokens_per_s=100]]")
    running = generation.get(turn.assistant_message_id)
    for _ in range(200):
        if running.text:
            break
        await asyncio.sleep(0.01)
    assert chat.stop(owner, turn.assistant_message_id)
    reply = await run_turn(turn)
    assert reply.status == MessageStatus.stopped
    assert reply.error_category == "cancelled"
    assert reply.content and len(reply.content.split()) < 400
    assert reply.tool_calls.get("estimated") is True and reply.cost_micros > 0
    await asyncio.sleep(0.1)
    assert model_requests(llm_env)[-1]["disconnected"]


async def test_partial_text_is_saved_while_streaming(
    owner: User, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat, "CHECKPOINT_SECONDS", 0.2)
    # 3 s of streaming: a checkpoint lands well before the end even on a loaded machine.
    turn = await chat.send(owner, conversation.id, "[[sim:tokens=150]] [[sim:tokens_per_s=50]]")
    saved = ""
    for _ in range(100):
        await asyncio.sleep(0.05)
        saved = conversations.get_message(owner, turn.assistant_message_id).content
        if saved:
            break
    assert saved and generation.get(turn.assistant_message_id) is not None  # still streaming
    reply = await run_turn(turn)
    assert reply.status == MessageStatus.complete and len(reply.content.split()) == 150


@pytest.mark.parametrize("fault", ["error_midstream", "cut_midstream"])
async def test_broken_stream_ends_failed_with_partial_text(
    owner: User, conversation: Conversation, llm_env: SimulatorServer, fault: str
) -> None:
    reply = await run_turn(
        await chat.send(owner, conversation.id, f"[[sim:fault={fault}]] [[sim:tokens=40]]")
    )
    assert reply.status == MessageStatus.failed
    assert reply.error_category == "stream_broken"
    assert reply.content.startswith("the quick model")
    assert "kept" in reply.error


async def test_rate_limit_before_the_stream_is_retried(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    llm_env.configure(fail_next=[429])
    reply = await run_turn(await chat.send(owner, conversation.id, "hello"))
    assert reply.status == MessageStatus.complete
    assert [r["status"] for r in model_requests(llm_env)] == [429, 200]


async def test_regenerate_and_edit_keep_the_earlier_answer_and_its_cost(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    first = await run_turn(await chat.send(owner, conversation.id, "echo: one"))
    second = await run_turn(await chat.regenerate(owner, conversation.id))
    assert second.content == "one" and "carried" not in second.tool_calls
    edited = await run_turn(await chat.edit(owner, conversation.id, "echo: two"))
    view = conversations.conversation_view(owner, conversation.id)
    assert [m.content for m in view.messages] == ["echo: two", "two"]
    assert view.conversation.message_count == 5  # both questions, all three answers
    # Nothing was deleted: every sibling keeps its own cost, and the totals hold them all.
    with session_scope() as session:
        rows = session.exec(
            select(ConversationMessage).where(
                ConversationMessage.conversation_id == conversation.id
            )
        ).all()
    assert {r.id for r in rows} >= {first.id, second.id, edited.id}
    assert view.conversation.cost_micros == sum(r.cost_micros or 0 for r in rows)
    assert view.conversation.cost_micros == first.cost_micros + second.cost_micros + (
        edited.cost_micros
    )
    assert sum(r.input_tokens for r in rows) == view.conversation.input_tokens
    assert sum(r.output_tokens for r in rows) == view.conversation.output_tokens


async def test_another_user_cannot_send_or_stop(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    intruder = make_user("bob")
    with pytest.raises(NotFound):
        await chat.send(intruder, conversation.id, "hi")
    with pytest.raises(NotFound):
        await chat.regenerate(intruder, conversation.id)
    with pytest.raises(NotFound):
        chat.cost_preview(intruder, conversation.id)
    turn = await chat.send(owner, conversation.id, "[[sim:tokens=50]] [[sim:tokens_per_s=200]]")
    assert not chat.stop(intruder, turn.assistant_message_id)
    reply = await run_turn(turn)
    assert reply.status == MessageStatus.complete
    assert model_requests(llm_env)[-1]["body"]["input"][-1]["content"].startswith("[[sim")


async def test_cost_preview_grows_with_the_draft(owner: User, conversation: Conversation) -> None:
    preview = chat.cost_preview(owner, conversation.id)
    assert preview.messages_left == get_settings().max_messages_per_conversation
    short, long = preview.estimate("hi"), preview.estimate("word " * 2000)
    assert 0 < short < long


async def test_a_double_send_starts_one_reply(
    owner: User, conversation: Conversation, llm_env: SimulatorServer
) -> None:
    results = await asyncio.gather(
        chat.send(owner, conversation.id, "echo: once [[sim:tokens_per_s=50]]"),
        chat.send(owner, conversation.id, "echo: once [[sim:tokens_per_s=50]]"),
        return_exceptions=True,
    )
    turns = [r for r in results if isinstance(r, chat.Turn)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(turns) == 1 and len(refused) == 1
    await run_turn(turns[0])
    view = conversations.conversation_view(owner, conversation.id)
    assert len(view.messages) == 2 and view.conversation.message_count == 2
