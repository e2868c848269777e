"""The chat page through NiceGUI's simulated user, against the simulator (real SDK)."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from components.chat_composer import ENTER_SENDS_JS
from components.heading import Heading
from core.db import session_scope
from models import Conversation
from models import User as Account
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import search_backends, turn
from simulator.server import SimulatorServer
from tests.ui.helpers import log_out, register

pytestmark = pytest.mark.usefixtures("llm_env")


def account(name: str) -> Account:
    with session_scope() as session:
        return session.exec(select(Account).where(Account.username == name)).one()


async def open_new_chat(user: User, name: str = "alice") -> int:
    """Register, create an assistant and open a new conversation with it."""
    await register(user, name)
    await user.should_see(f"Welcome, {name}", retries=20)
    assistant = create_assistant(account(name), AssistantInput(name="Otter helper"))
    await user.open(f"/chat/new?assistant={assistant.id}")
    await user.should_see("Say hello to Otter helper", retries=20)
    with session_scope() as session:
        return session.exec(select(Conversation.id)).all()[-1]


async def send(user: User, text: str) -> None:
    user.find("Message").type(text)
    user.find(kind=ui.button, content="Send").click()


async def test_send_shows_the_streamed_answer_with_cost(user: User) -> None:
    await open_new_chat(user)
    await send(user, "echo: otters hold hands while sleeping")
    await user.should_see("otters hold hands while sleeping", retries=50)
    await user.should_see("tokens ·", retries=50)
    await user.should_see("Regenerate", retries=20)
    assert user.find("Message").elements.pop().value == ""


async def test_enter_sends_and_shift_enter_does_not(user: User) -> None:
    await open_new_chat(user)
    textarea = user.find("Message").elements.pop()
    listeners = [lis for lis in textarea._event_listeners.values() if lis.type == "keydown"]
    assert listeners and listeners[0].js_handler == ENTER_SENDS_JS
    assert "!e.shiftKey" in ENTER_SENDS_JS and "preventDefault" in ENTER_SENDS_JS
    user.find("Message").type("echo: sent with enter").trigger("keydown")
    await user.should_see("sent with enter", retries=50)
    await user.should_see("tokens ·", retries=50)


async def test_enter_sends_the_text_it_carries_even_before_the_value_update(user: User) -> None:
    # The browser sends the box's value and the Enter key as two events; Enter carries the text,
    # so a value update still on its way cannot make it send nothing (or an older text).
    await open_new_chat(user)
    textarea = user.find("Message").elements.pop()
    assert "emit(e.target.value)" in ENTER_SENDS_JS
    listener = next(lis for lis in textarea._event_listeners.values() if lis.type == "keydown")
    textarea._handle_event({"listener_id": listener.id, "args": "echo: typed just before Enter"})
    await user.should_see("typed just before Enter", retries=50)
    await user.should_see("tokens ·", retries=50)
    assert textarea.value == ""  # sent, and the box cleared


async def test_stop_keeps_partial_answer_and_offers_retry(user: User) -> None:
    await open_new_chat(user)
    await send(user, "[[sim:tokens=600]] [[sim:tokens_per_s=40]]")
    await user.should_see(marker="streaming-answer", retries=20)
    user.find(kind=ui.button, content="Stop").click()
    await user.should_see("Stopped.", retries=50)
    await user.should_see("Retry")


async def test_stop_pressed_before_the_reply_exists_stops_it(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stop shows as soon as Send is pressed; pressed (or Esc) before `chat.send` has returned
    (seconds on a loaded server), the reply that send starts is stopped all the same."""
    await open_new_chat(user)
    released = asyncio.Event()
    real_send = turn.send

    async def slow_send(*args: object, **kwargs: object) -> turn.Turn:
        await released.wait()
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(turn, "send", slow_send)
    await send(user, "[[sim:tokens=600]] [[sim:tokens_per_s=40]]")
    await user.should_see(kind=ui.button, content="Stop", retries=20)
    user.find(kind=ui.button, content="Stop").click()
    released.set()
    await user.should_see("Stopped.", retries=50)


async def test_failed_reply_then_retry_succeeds(user: User, llm_env: SimulatorServer) -> None:
    await open_new_chat(user)
    llm_env.configure(fail_next=[500, 500, 500])
    await send(user, "echo: second time lucky")
    await user.should_see("server error", retries=50)
    user.find(kind=ui.button, content="Retry").click()
    await user.should_see("2/2", retries=100)  # the failed answer stays, as a sibling
    await user.should_see("second time lucky", retries=50)
    await user.should_not_see("server error", retries=50)


async def test_rename_delete_and_search(user: User) -> None:
    conversation_id = await open_new_chat(user)
    await send(user, "echo: planning a picnic")
    await user.should_see("tokens ·", retries=50)
    await user.open("/chat")
    await user.should_see("echo: planning a picnic")
    user.find(marker=f"rename-{conversation_id}").click()
    user.find("Title").clear().type("Picnic plans").trigger("keydown.enter")
    await user.should_see("Renamed", retries=20)
    await user.open("/chat")
    await user.should_see("Picnic plans")
    user.find("Search conversations").type("nothing-like-this")
    await user.should_see("No conversation matches", retries=20)
    user.find("Search conversations").clear().type("PICNIC")  # message text and title
    await user.should_see("Picnic plans", retries=20)
    await user.should_see(marker=f"hit-{conversation_id}", retries=20)  # a full-text hit
    user.find("Search conversations").clear()  # back to the list, with its row actions
    await user.should_see(marker=f"delete-{conversation_id}", retries=20)
    user.find(marker=f"delete-{conversation_id}").click()
    user.find(kind=ui.button, content="Delete").click()
    await user.should_see("Conversation deleted", retries=20)
    await user.open("/chat")
    await user.should_see("No conversations yet.")


async def test_search_says_when_only_the_newest_matches_were_ranked(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_backends, "CANDIDATES", 1)  # SQLite ranks one match at most
    await open_new_chat(user)
    await send(user, "echo: kayak trip")  # the message and its echoed reply both match
    await user.should_see("tokens ·", retries=50)
    await user.open("/chat")
    user.find("Search conversations").type("kayak")
    await user.should_see(marker="search-recent-only", retries=20)
    user.find("Search conversations").clear().type("nothing-like-this")
    await user.should_see("No conversation matches", retries=20)
    await user.should_not_see(marker="search-recent-only")


async def test_other_users_conversation_is_a_404_page(user: User) -> None:
    conversation_id = await open_new_chat(user, "alice")
    await log_out(user)
    await register(user, "bob")
    await user.should_see("Welcome, bob", retries=20)
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("Page not found")
    await user.should_not_see("Otter helper")


async def test_empty_state_links_to_creating_an_assistant(user: User) -> None:
    await register(user, "carol")
    await user.should_see("Welcome, carol", retries=20)
    await user.open("/chat")
    await user.should_see("No assistants yet")
    await user.should_see("Create your first assistant")


async def test_renaming_the_open_conversation_updates_its_header(user: User) -> None:
    conversation_id = await open_new_chat(user)
    await send(user, "echo: first words here")
    await user.should_see("tokens ·", retries=50)
    user.find(marker=f"rename-{conversation_id}").click()
    user.find("Title").clear().type("Better title").trigger("keydown.enter")
    await user.should_see("Renamed", retries=20)
    # The conversation's header (its <h1>), not only the list.
    await user.should_see(kind=Heading, content="Better title")


async def test_spending_cap_is_set_checked_and_cleared(user: User) -> None:
    conversation_id = await open_new_chat(user)

    def cap() -> int | None:
        with session_scope() as session:
            return session.get(Conversation, conversation_id).cost_cap_micros

    user.find(kind=ui.button, content="Set spending cap").click()
    await user.should_see("No spending cap on this conversation.", retries=20)
    cap_input = user.find("Conversation cap (USD)")
    cap_input.type("-2")
    user.find(kind=ui.button, content="Save cap").click()
    field = cap_input.elements.pop()
    for _ in range(60):
        if field.error:
            break
        await asyncio.sleep(0.05)
    assert field.error.startswith("A budget cannot be negative")
    assert cap() is None
    user.find("Conversation cap (USD)").clear().type("$5")
    user.find(kind=ui.button, content="Save cap").click()
    await user.should_see("Cap: $5.00 for this conversation.", retries=20)
    assert cap() == 5_000_000
    user.find(kind=ui.button, content="Set spending cap").click()
    for _ in range(60):  # the dialog reloads the saved cap, normalised
        if field.value == "5.00":
            break
        await asyncio.sleep(0.05)
    assert field.value == "5.00"
    user.find("Conversation cap (USD)").clear().type("0").trigger("keydown.enter")
    await user.should_see("Cap: $0.00 (sending is blocked).", retries=20)
    assert cap() == 0
    user.find(kind=ui.button, content="Set spending cap").click()
    user.find("Conversation cap (USD)").clear()
    user.find(kind=ui.button, content="Save cap").click()
    for _ in range(60):
        if cap() is None:
            break
        await asyncio.sleep(0.05)
    assert cap() is None
