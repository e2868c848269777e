"""Reasoning models in the pages: the form's per-model fields, "Thinking…", cut-off replies."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select as query

from core.config import get_settings
from core.db import session_scope
from models import Assistant, ConversationMessage, MessageRole
from models import User as Account
from services.assistants.manage import AssistantInput, create_assistant
from simulator.server import SimulatorServer
from tests.ui.helpers import signed_up

pytestmark = pytest.mark.usefixtures("llm_env")


def select(user: User, label: str) -> ui.select:
    return next(e for e in user.find(kind=ui.select).elements if e.props.get("label") == label)


def account(name: str) -> Account:
    with session_scope() as session:
        return session.exec(query(Account).where(Account.username == name)).one()


async def test_form_offers_only_what_the_model_takes(user: User) -> None:
    await signed_up(user, "alice")
    await user.open("/assistants/new")
    await user.should_see("Temperature")
    await user.should_not_see("Reasoning effort")
    user.find("Name").type("Thinker")
    user.find("Temperature").type("0.7")
    select(user, "Model").set_value("gpt-5-mini")
    await user.should_see("Temperature and Top P do not apply")
    with pytest.raises(AssertionError):  # `find` sees visible elements only
        user.find(kind=ui.number)
    effort = select(user, "Reasoning effort")
    assert list(effort.options) == ["minimal", "low", "medium", "high"]
    effort.set_value("low")
    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Created “Thinker”.")
    with session_scope() as session:
        saved = session.exec(query(Assistant)).one()
    assert (saved.model, saved.reasoning_effort, saved.temperature) == ("gpt-5-mini", "low", None)


async def start_chat(user: User, name: str, model: str) -> None:
    await signed_up(user, name)
    assistant = create_assistant(account(name), AssistantInput(name="Deep", model=model))
    await user.open(f"/chat/new?assistant={assistant.id}")
    await user.should_see("Say hello to Deep", retries=20)


async def send(user: User, text: str) -> None:
    user.find("Message").type(text)
    user.find(kind=ui.button, content="Send").click()


async def test_a_gpt5_mini_reply_shows_thinking_then_its_summary(user: User) -> None:
    await start_chat(user, "bob", "gpt-5-mini")
    await send(user, "echo: deep thought [[sim:think_ms=2500]]")
    await user.should_see("Thinking…", retries=30)
    await user.should_see("Thinking… 1 s", retries=30)
    await user.should_see("deep thought", retries=60)
    await user.should_see("Thought for", retries=30)
    await user.should_not_see("Thinking…")


async def test_cut_off_reply_offers_continue_and_retry(
    user: User, monkeypatch: pytest.MonkeyPatch, llm_env: SimulatorServer
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "60")
    get_settings.cache_clear()
    await start_chat(user, "carol", "gpt-4.1-mini")
    await send(user, "[[sim:tokens=400]]")
    await user.should_see("Stopped at the length limit.", retries=60)
    await user.should_see("Retry")
    user.find(kind=ui.button, content="Continue").click()
    await user.should_see("Please continue from where your last answer stopped.", retries=30)
    with session_scope() as session:
        questions = session.exec(
            query(ConversationMessage.content).where(ConversationMessage.role == MessageRole.user)
        ).all()
    assert questions[-1] == "Please continue from where your last answer stopped."
