"""Long conversations: the chat page draws the newest 30 messages, "Load earlier" adds more."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from components.chat_history import HISTORY_PAGE, LOAD_EARLIER
from core.db import session_scope
from models import ConversationMessage, MessageRole, MessageStatus
from tests.ui.test_chat_pages import open_new_chat

pytestmark = pytest.mark.usefixtures("llm_env")

TURNS = 40  # 80 messages


def add_history(conversation_id: int) -> None:
    """80 finished messages: "question NN" and "answer NN" for NN = 00..39, oldest first."""
    with session_scope() as session:
        for turn in range(TURNS):
            for role in (MessageRole.user, MessageRole.assistant):
                word = "question" if role == MessageRole.user else "answer"
                session.add(
                    ConversationMessage(
                        conversation_id=conversation_id,
                        role=role,
                        content=f"{word} {turn:02d}",
                        status=MessageStatus.complete,
                    )
                )


def drawn_questions(user: User) -> list[str]:
    """The user messages on the page, in the order they are drawn (top to bottom)."""
    return [
        element.text
        for element in user.client.layout.descendants()
        if isinstance(element, ui.label) and element.text.startswith("question ")
    ]


async def test_load_earlier_messages_adds_older_pages_in_order(user: User) -> None:
    conversation_id = await open_new_chat(user)
    add_history(conversation_id)
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("answer 39", retries=20)

    newest = [f"question {n:02d}" for n in range(TURNS - HISTORY_PAGE // 2, TURNS)]
    assert drawn_questions(user) == newest  # 30 messages: questions and answers 25..39
    await user.should_not_see("answer 24")

    user.find(kind=ui.button, content=LOAD_EARLIER).click()
    await user.should_see("answer 10", retries=20)
    assert drawn_questions(user) == [f"question {n:02d}" for n in range(10, TURNS)]
    await user.should_not_see("question 09")

    user.find(kind=ui.button, content=LOAD_EARLIER).click()
    await user.should_see("question 00", retries=20)
    assert drawn_questions(user) == [f"question {n:02d}" for n in range(TURNS)]
    await user.should_not_see(LOAD_EARLIER)  # nothing older left


async def test_short_conversation_has_no_load_earlier(user: User) -> None:
    conversation_id = await open_new_chat(user)
    with session_scope() as session:
        session.add(
            ConversationMessage(
                conversation_id=conversation_id,
                role=MessageRole.user,
                content="question 00",
                status=MessageStatus.complete,
            )
        )
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("question 00", retries=20)
    await user.should_not_see(LOAD_EARLIER)


async def test_message_buttons_are_labelled_without_tooltip_elements(user: User) -> None:
    conversation_id = await open_new_chat(user)
    add_history(conversation_id)
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("answer 39", retries=20)
    buttons = user.find(marker="Copy answer").elements
    assert len(buttons) == HISTORY_PAGE // 2
    for button in buttons:
        assert button.props["aria-label"] == button.props["title"] == "Copy answer"
        assert not [child for child in button.descendants() if isinstance(child, ui.tooltip)]


async def test_gallery_and_cap_dialogs_are_built_when_first_opened(user: User) -> None:
    conversation_id = await open_new_chat(user)
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("Say hello to Otter helper", retries=20)

    def built(title: str) -> bool:
        return any(
            isinstance(e, ui.label) and e.text == title for e in user.client.layout.descendants()
        )

    assert not built("Spending cap") and not built("Images in this conversation")
    user.find(kind=ui.button, content="Set spending cap").click()
    await user.should_see("No spending cap on this conversation.", retries=20)
    assert built("Spending cap") and not built("Images in this conversation")
