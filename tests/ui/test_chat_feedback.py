"""Issue 14 in the pages: "Thinking…" before the first token, formatted streaming, feedback."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from core.db import session_scope
from models import AnswerFeedback, Conversation
from tests.ui.test_chat_pages import open_new_chat, send

pytestmark = pytest.mark.usefixtures("llm_env")


async def test_thinking_indicator_until_the_first_token(user: User) -> None:
    await open_new_chat(user)
    await send(user, "[[sim:delay_ms=2500]] echo: late bird")
    await user.should_see(marker="thinking-indicator", retries=30)
    await user.should_see("Thinking…")
    await user.should_see("tokens ·", retries=150)  # the answer is done
    await user.should_not_see(marker="thinking-indicator", retries=20)


async def test_feedback_is_saved_changed_and_shown_to_the_owner_and_admin(user: User) -> None:
    conversation_id = await open_new_chat(user)  # alice: the first account, an admin
    await send(user, "echo: the answer")
    await user.should_see("tokens ·", retries=60)
    user.find(marker="Good answer").click()
    await user.should_see("Thanks for the feedback", retries=20)
    user.find(marker="Bad answer").click()  # changes it; a thumbs down asks what was wrong
    await user.should_see(marker="feedback-comment", retries=20)
    user.find(marker="feedback-comment").type("Too short")
    user.find(kind=ui.button, content="Save comment").click()
    await user.should_see("Comment saved", retries=20)
    with session_scope() as session:
        rows = session.exec(select(AnswerFeedback)).all()
        assistant_id = session.get(Conversation, conversation_id).assistant_id
    assert [(row.rating, row.comment) for row in rows] == [(-1, "Too short")]

    await user.open(f"/chat/{conversation_id}")  # the rating is there after a reload
    await user.should_see("the answer", retries=20)
    bad = user.find(marker="Bad answer").elements.pop()
    assert bad.props["aria-pressed"] == "true"
    assert user.find(marker="Good answer").elements.pop().props["aria-pressed"] == "false"

    await user.open(f"/assistants/{assistant_id}")
    await user.should_see("0% positive (0 of 1 rating)", retries=20)
    await user.should_see("Too short")
    await user.open("/")
    await user.should_see("Satisfaction per assistant", retries=20)
    await user.should_see("Export satisfaction CSV")
