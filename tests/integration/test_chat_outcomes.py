"""How a chat turn ends with real-provider shapes: reasoning models, cut-off, refused,
failed and timed-out replies, the app's own output cap and deadline (issues 12 and 13).

Real SDK over HTTP against the simulator, on SQLite and MariaDB.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from components.chat_cost import cost_breakdown
from core.config import get_settings
from core.db import session_scope
from models import Assistant, ConversationMessage, MessageStatus, User
from services.accounts.users import create_user
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from services.llm.base import ErrorCategory, Usage
from services.llm.catalog import load_catalog
from services.usage.pricing import cost_micros
from simulator.server import SimulatorServer


@pytest.fixture
def llm_env(llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """The shared settings, with a fresh provider cache (these tests change its timeouts)."""
    monkeypatch.setattr(chat, "_providers", {})
    return llm_env


@pytest.fixture
def owner(database: str, llm_env: SimulatorServer) -> User:
    return create_user("alice", "password123")


def start_chat(owner: User, model: str, **fields: object) -> int:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model=model, **fields))
    return conversations.create_conversation(owner, assistant.id).id


async def reply_to(owner: User, conversation_id: int, text: str) -> ConversationMessage:
    turn = await chat.send(owner, conversation_id, text)
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        return session.get(ConversationMessage, turn.assistant_message_id)


def last_body(sim: SimulatorServer) -> dict:
    return [r for r in sim.requests if r["path"] == "/v1/responses"][-1]["body"]


def billed(message: ConversationMessage) -> int | None:
    """What the stored usage costs at catalog prices."""
    catalog = load_catalog(get_settings())
    usage = Usage(
        message.input_tokens,
        message.cached_tokens,
        message.output_tokens,
        message.reasoning_tokens,
        web_search_calls=(message.tool_calls or {}).get("web_search", 0),
    )
    return cost_micros(usage, catalog.get(message.model), catalog.tool_prices)


async def test_reasoning_assistant_never_sends_sampling_parameters(
    owner: User, llm_env: SimulatorServer
) -> None:
    """Row 1: an assistant that was saved with a temperature, then moved to gpt-5-mini."""
    conversation_id = start_chat(owner, "gpt-4.1-mini", temperature=0.4, top_p=0.9)
    with session_scope() as session:
        for assistant in session.exec(select(Assistant)).all():
            assistant.model = "gpt-5-mini"
            assistant.reasoning_effort = "low"
            session.add(assistant)
    reply = await reply_to(owner, conversation_id, "echo: fine")
    assert reply.status == MessageStatus.complete, reply.error
    body = last_body(llm_env)
    assert "temperature" not in body and "top_p" not in body
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}


async def test_reasoning_reply_keeps_its_summary_and_thinking_time(
    owner: User, llm_env: SimulatorServer
) -> None:
    conversation_id = start_chat(owner, "gpt-5-mini")
    reply = await reply_to(owner, conversation_id, "echo: ok [[sim:think_ms=300]]")
    assert reply.content == "ok"
    assert reply.reasoning_summary.startswith("**Reading the question**")
    assert reply.tool_calls["thinking_seconds"] >= 0.3
    # Reasoning tokens are inside the output tokens, billed once.
    assert reply.reasoning_tokens == 64 and reply.output_tokens == 65
    assert reply.cost_micros == billed(reply)


@pytest.mark.parametrize(
    ("marker", "sentence"),
    [
        ("[[sim:tokens=500]]", "Stopped at the length limit."),
        ("[[sim:incomplete=content_filter]]", "Stopped by the content filter."),
    ],
)
async def test_incomplete_reply_has_its_own_status_and_is_billed(
    owner: User,
    llm_env: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    marker: str,
    sentence: str,
) -> None:
    """Row 2."""
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "100")
    get_settings.cache_clear()
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    reply = await reply_to(owner, conversation_id, marker)
    assert reply.status == MessageStatus.incomplete
    assert reply.error == sentence
    assert reply.content  # the partial text is kept
    assert reply.output_tokens <= 100 and not reply.tool_calls.get("estimated")
    assert reply.cost_micros == billed(reply) and reply.cost_micros > 0


async def test_reasoning_that_spends_the_limit_is_not_an_empty_answer(
    owner: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "40")
    get_settings.cache_clear()
    reply = await reply_to(owner, start_chat(owner, "gpt-5-mini"), "hello")
    assert reply.status == MessageStatus.incomplete and reply.content == ""
    assert reply.output_tokens == 40 and reply.cost_micros == billed(reply)


async def test_refusal_is_saved_as_refused(owner: User, llm_env: SimulatorServer) -> None:
    reply = await reply_to(owner, start_chat(owner, "gpt-4.1-mini"), "[[sim:refuse=1]]")
    assert reply.status == MessageStatus.refused
    assert reply.content == "I'm sorry, but I can't help with that."


async def test_timeout_records_an_estimated_cost(
    owner: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 3: a reply that dies of silence is not $0, and says the cost is estimated."""
    monkeypatch.setenv("LLM_READ_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    reply = await reply_to(owner, start_chat(owner, "gpt-5-mini"), "hi [[sim:think_ms=3000]]")
    assert reply.status == MessageStatus.failed
    assert reply.error_category == ErrorCategory.timeout
    assert reply.tool_calls["estimated"] is True
    assert reply.cost_micros and reply.cost_micros > 0


async def test_trickling_reply_hits_the_reply_deadline(
    owner: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 9: a token every so often never trips the read timeout; the whole
    reply has a deadline (LLM_REPLY_DEADLINE_SECONDS)."""
    monkeypatch.setenv("LLM_REPLY_DEADLINE_SECONDS", "1")
    get_settings.cache_clear()
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    reply = await reply_to(owner, conversation_id, "[[sim:tokens=100]] [[sim:tokens_per_s=10]]")
    assert reply.status == MessageStatus.failed
    assert reply.error_category == ErrorCategory.timeout
    assert "LLM_REPLY_DEADLINE_SECONDS" in reply.error and "estimated" in reply.error
    assert 0 < len(reply.content.split()) < 100
    assert reply.tool_calls["estimated"] and reply.cost_micros > 0
    assert [r for r in llm_env.requests if r["path"] == "/v1/responses"][-1]["disconnected"]


async def test_app_enforces_its_own_output_cap(
    owner: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 8: a server that ignores max_output_tokens is cut off by the app."""
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "100")
    get_settings.cache_clear()
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    reply = await reply_to(owner, conversation_id, "[[sim:tokens=5000000]] [[sim:ignore_limit=1]]")
    assert reply.status == MessageStatus.incomplete
    assert "MAX_OUTPUT_TOKENS" in reply.error
    assert len(reply.content) <= 100 * 4 * chat.OUTPUT_CAP_SLACK + 10
    assert reply.tool_calls["estimated"] and reply.cost_micros > 0


async def test_failed_reply_is_billed_from_the_response_usage(
    owner: User, llm_env: SimulatorServer
) -> None:
    """Row 5: not an estimate from the text."""
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    reply = await reply_to(
        owner, conversation_id, "[[sim:fault=error_midstream]] [[sim:tokens=40]]"
    )
    assert reply.status == MessageStatus.failed
    assert reply.output_tokens == 20 and not reply.tool_calls.get("estimated")
    assert reply.cost_micros == billed(reply) and reply.cost_micros > 0


async def test_quota_error_is_named(owner: User, llm_env: SimulatorServer) -> None:
    """Row 4: the nested error event, as the chat shows it."""
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    reply = await reply_to(owner, conversation_id, "[[sim:fault=error_nested]] [[sim:tokens=20]]")
    assert reply.status == MessageStatus.failed
    assert reply.error_category == ErrorCategory.quota
    assert "out of credit" in reply.error


async def test_web_search_open_page_is_not_billed(owner: User, llm_env: SimulatorServer) -> None:
    """Row 6: two web_search_call items, one search."""
    conversation_id = start_chat(owner, "gpt-5-mini", tools=["web_search"])
    reply = await reply_to(owner, conversation_id, "find it")
    assert reply.tool_calls["web_search"] == 1
    assert reply.cost_micros == billed(reply)


async def test_snapshot_name_counts_as_the_catalog_model(
    owner: User, llm_env: SimulatorServer
) -> None:
    """Row 9: one model, one row in the charts, priced from the catalog."""
    reply = await reply_to(owner, start_chat(owner, "gpt-5-mini"), "hi")
    assert reply.model == "gpt-5-mini"
    assert reply.tool_calls["model_snapshot"] == "gpt-5-mini-2025-08-07"
    assert reply.cost_micros == billed(reply) and reply.cost_micros > 0
    assert "Model: gpt-5-mini (answered as gpt-5-mini-2025-08-07)" in cost_breakdown(reply)


async def test_store_follows_the_setting(
    owner: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 10."""
    conversation_id = start_chat(owner, "gpt-4.1-mini")
    await reply_to(owner, conversation_id, "hi")
    assert last_body(llm_env)["store"] is False
    monkeypatch.setenv("OPENAI_STORE", "true")
    get_settings.cache_clear()
    await reply_to(owner, conversation_id, "again")
    assert last_body(llm_env)["store"] is True


async def test_cache_write_tokens_are_recorded(owner: User, llm_env: SimulatorServer) -> None:
    """Pricing: cache writes are recorded; cached input is billed at the cached rate."""
    reply = await reply_to(owner, start_chat(owner, "gpt-4.1-mini"), "word " * 1500)
    assert reply.cache_write_tokens > 0 and reply.cached_tokens == 0
    again = await reply_to(owner, reply.conversation_id, "and more")
    assert again.cached_tokens >= 1024
    assert again.cost_micros == billed(again)
