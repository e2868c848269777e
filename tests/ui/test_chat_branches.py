"""Branches on the chat page (NiceGUI's simulated user, simulator with the real SDK).

The defects reproduced: Edit on an earlier message replaced the LAST one, Regenerate on an
older answer replaced the newest, and buttons went stale after a redraw or a reload.
"""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from core.db import session_scope
from models import Conversation, ConversationMessage, MessageRole
from tests.ui.test_chat_pages import open_new_chat, send

pytestmark = pytest.mark.usefixtures("llm_env")


def nth(user: User, marker: str, index: int) -> UserInteraction:
    """The `index`-th element (in page order) carrying `marker`."""
    marked = user.find(marker=marker).elements
    found = [e for e in user.client.layout.descendants() if e in marked]  # page order
    return UserInteraction(user, {found[index]}, None)


def markers(user: User, marker: str) -> int:
    """How many elements carry `marker` now (0 is an answer, not an error). NiceGUI splits a
    marker at spaces, so "Edit message" is the markers "Edit" and "message"."""
    words = set(marker.split())
    return sum(words <= set(e._markers) for e in user.client.layout.descendants())


def messages(chat_id: int, role: MessageRole) -> list[ConversationMessage]:
    with session_scope() as session:
        return list(
            session.exec(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == chat_id)
                .where(ConversationMessage.role == role)
                .order_by(ConversationMessage.id)
            )
        )


async def until(condition, seconds: float = 30.0) -> None:
    """Wait for `condition()` (the page updates from background tasks)."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    assert condition()


async def two_turns(user: User) -> int:
    chat_id = await open_new_chat(user)
    await send(user, "echo: alpha one")
    await user.should_see("alpha one", retries=150)
    await user.should_see(marker="Regenerate", retries=150)
    await send(user, "echo: bravo two")
    await user.should_see("bravo two", retries=150)
    await until(lambda: markers(user, "Regenerate") == 2)  # both answers finished
    return chat_id


async def test_edit_on_the_first_message_branches_and_keeps_the_second(user: User) -> None:
    chat_id = await two_turns(user)
    nth(user, "Edit message", 0).click()  # Edit on A, not B
    await user.should_see("Editing a message", retries=10)
    user.find("Message").clear().type("echo: alpha edited")
    user.find(kind=ui.button, content="Send").click()
    await user.should_see("alpha edited", retries=150)
    await user.should_not_see("bravo two", retries=150)  # B is on the other branch now
    await user.should_see("2/2", retries=20)
    await until(lambda: markers(user, "Regenerate") == 1)  # the new answer finished
    # B and its answer were kept: the switch on the user message brings them back.
    user.find(marker="Previous version").click()
    await user.should_see("bravo two", retries=150)
    questions = [m.content for m in messages(chat_id, MessageRole.user)]
    assert questions == ["echo: alpha one", "echo: bravo two", "echo: alpha edited"]
    user.find(marker="Next version").click()
    await user.should_not_see("bravo two", retries=150)


async def test_regenerate_on_the_older_answer_regenerates_that_answer(user: User) -> None:
    chat_id = await two_turns(user)
    older, newer = messages(chat_id, MessageRole.assistant)
    nth(user, "Regenerate", 0).click()
    await user.should_see("2/2", retries=150)
    await user.should_not_see("bravo two", retries=150)
    answers = messages(chat_id, MessageRole.assistant)
    assert len(answers) == 3 and answers[-1].parent_id == older.parent_id
    assert {a.id for a in answers} >= {older.id, newer.id}  # nothing was replaced
    await until(lambda: markers(user, "Regenerate") == 1)
    user.find(marker="Previous answer").click()
    await user.should_see("bravo two", retries=150)


async def test_buttons_survive_a_reload(user: User) -> None:
    chat_id = await two_turns(user)
    await user.open(f"/chat/{chat_id}")
    await user.should_see("bravo two", retries=150)
    assert markers(user, "Edit message") == 2  # Edit was gone everywhere after a reload
    assert markers(user, "Regenerate") == 2
    nth(user, "Edit message", 0).click()
    user.find("Message").clear().type("echo: after reload")
    user.find(kind=ui.button, content="Send").click()
    await user.should_see("after reload", retries=150)
    await user.should_see("2/2", retries=20)
    with session_scope() as session:
        conversation = session.get(Conversation, chat_id)
    leaf = messages(chat_id, MessageRole.assistant)[-1]
    assert conversation.active_message_id == leaf.id


async def test_continue_in_a_new_chat_from_here(user: User) -> None:
    chat_id = await two_turns(user)
    nth(user, "Continue in a new chat from here", 1).click()  # on the first answer
    await user.should_see("(branch)", retries=150)
    await user.should_see("alpha one", retries=20)
    await user.should_not_see("bravo two", retries=20)
    with session_scope() as session:
        ids = session.exec(select(Conversation.id).order_by(Conversation.id)).all()
    assert len(ids) == 2 and ids[0] == chat_id
