"""Model-written conversation titles (issue 14, item 4), on SQLite and MariaDB.

After the first exchange `TITLE_MODEL` names the conversation: a real call through the SDK to
the simulator, reserved and settled like any other, and a title the user set always wins.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from models import Reservation, SpendEntry, SpendKind, User
from services.accounts.users import create_user
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation, titles
from services.chat import turn as chat
from simulator.server import SimulatorServer

TITLE_MODEL = "gpt-4o-mini"


@pytest.fixture
def alice(database: str, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> User:
    monkeypatch.setenv("TITLE_MODEL", TITLE_MODEL)
    get_settings.cache_clear()
    return create_user("alice", "password123")


def new_chat(owner: User) -> int:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    return conversations.create_conversation(owner, assistant.id).id


async def exchange(user: User, conversation_id: int, text: str) -> None:
    turn = await chat.send(user, conversation_id, text)
    await generation.wait(turn.assistant_message_id)


def title_requests(sim: SimulatorServer) -> list[dict]:
    return [r for r in sim.requests if (r["body"] or {}).get("model") == TITLE_MODEL]


def title_rows() -> list[SpendEntry]:
    with session_scope() as session:
        return list(session.exec(select(SpendEntry).where(SpendEntry.kind == SpendKind.title)))


def open_reservations() -> int:
    with session_scope() as session:
        return len(session.exec(select(Reservation).where(Reservation.settled_at.is_(None))).all())


async def test_the_first_exchange_is_named_by_the_title_model_and_billed(
    alice: User, llm_env: SimulatorServer
) -> None:
    cid = new_chat(alice)
    await exchange(alice, cid, "how do I brew green tea without bitterness?")
    conversation = conversations.get_conversation(alice, cid)
    assert (conversation.title, conversation.title_source) == ("How do I brew green", "model")
    (request,) = title_requests(llm_env)
    assert request["body"]["instructions"] == titles.TITLE_INSTRUCTIONS
    assert request["body"]["max_output_tokens"] == titles.TITLE_MAX_TOKENS
    (row,) = title_rows()
    assert row.cost_micros > 0 and row.input_tokens > 0 and row.conversation_id == cid
    assert row.user_id == alice.id and row.model_alias == TITLE_MODEL
    assert open_reservations() == 0
    await exchange(alice, cid, "and with milk?")  # only the first exchange is named
    assert len(title_requests(llm_env)) == 1 and len(title_rows()) == 1
    assert conversations.get_conversation(alice, cid).title == "How do I brew green"


async def test_a_title_the_user_set_always_wins(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITLE_MODEL", "")
    get_settings.cache_clear()
    renamed_first, renamed_during = new_chat(alice), new_chat(alice)
    for cid in (renamed_first, renamed_during):
        await exchange(alice, cid, "plan a trip to Lisbon")
    assert title_requests(llm_env) == []  # TITLE_MODEL="" keeps the first message
    assert conversations.get_conversation(alice, renamed_first).title == "plan a trip to Lisbon"
    monkeypatch.setenv("TITLE_MODEL", TITLE_MODEL)
    get_settings.cache_clear()
    provider = await chat.chat_provider()

    conversations.rename_conversation(alice, renamed_first, "Lisbon, May")
    assert await titles.name_after_first_exchange(alice, renamed_first, provider) is None
    assert title_requests(llm_env) == []  # no call at all

    call = titles._reserve(alice, renamed_during, provider)  # the call is on its way...
    conversations.rename_conversation(alice, renamed_during, "My trip")  # ...when the user renames
    assert await titles._ask(call) is None
    assert conversations.get_conversation(alice, renamed_during).title == "My trip"
    assert len(title_requests(llm_env)) == 1 and len(title_rows()) == 1  # still billed
    assert open_reservations() == 0


async def test_a_failed_title_call_keeps_the_first_message_title_and_releases_the_hold(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITLE_MODEL", "")
    get_settings.cache_clear()
    cid = new_chat(alice)
    await exchange(alice, cid, "summarize the meeting notes")
    monkeypatch.setenv("TITLE_MODEL", TITLE_MODEL)
    get_settings.cache_clear()
    attempts = get_settings().llm_max_retries + 1  # the SDK retries a 500
    llm_env.configure(fail_next=[500] * attempts)
    assert await titles.name_after_first_exchange(alice, cid, await chat.chat_provider()) is None
    conversation = conversations.get_conversation(alice, cid)
    assert (conversation.title, conversation.title_source) == (
        "summarize the meeting notes",
        "message",
    )
    assert len(title_requests(llm_env)) == attempts and title_rows() == []  # 500s bill nothing
    assert open_reservations() == 0


@pytest.mark.parametrize(
    ("answer", "title"),
    [
        ('"Brewing Green Tea."', "Brewing Green Tea"),
        ("Title: **Lisbon trip**", "Lisbon trip"),
        ("  Many\nlines  here ", "Many lines here"),
        ("   ", None),
        ("x" * 300, "x" * 200),
    ],
)
def test_the_answer_is_cleaned_into_a_title(answer: str, title: str | None) -> None:
    assert titles.clean_title(answer) == title
