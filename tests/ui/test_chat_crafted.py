"""Crafted messages (issue 13) neither freeze the server nor break a conversation for good.

With markdown2 on the event loop, `[a](` x 7,990 took 10.7 s to render, so the page missed
NiceGUI's 3 s response timeout and answered 500 on every load; 1,000 tabs raised
RecursionError on every load. Here the conversation opens, the text shows (plain text first
when it is not rendered yet), and the rendered HTML follows from the render worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from nicegui import ui
from nicegui.testing import User

from core.db import session_scope
from models import Conversation, ConversationMessage, MessageRole
from services.chat import render_worker, rendering
from tests.ui.test_chat_pages import open_new_chat, send

pytestmark = pytest.mark.usefixtures("llm_env", "long_replies")

LINKS = "[a](" * 7_990
BACKTICKS = "`" * 32_000
TABS = "tabbed" + "\t" * 1_000 + "end"
BOLD = "**bold** " * 3_500  # renders unlike its plain-text placeholder


@pytest.fixture(autouse=True)
def cold_cache() -> Iterator[None]:
    rendering.render_markdown.cache_clear()
    yield
    render_worker.shutdown()


def store_exchange(conversation_id: int, texts: list[str]) -> None:
    """Each text as a user message and the same text as the assistant's (echoed) answer."""
    with session_scope() as session:
        for text in texts:
            for role in (MessageRole.user, MessageRole.assistant):
                session.add(
                    ConversationMessage(conversation_id=conversation_id, role=role, content=text)
                )
        conversation = session.get(Conversation, conversation_id)
        conversation.message_count += 2 * len(texts)
        session.add(conversation)


def answers(user: User) -> list[str]:
    return [element.content for element in user.find(kind=ui.html).elements]


async def test_a_conversation_holding_crafted_messages_opens(user: User) -> None:
    conversation_id = await open_new_chat(user)
    store_exchange(conversation_id, [LINKS, BACKTICKS, TABS, BOLD])
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("[a]([a]([a](", retries=20)
    await user.should_see(kind=ui.button, content="Send")
    expected = [rendering.render_fresh(text) for text in (LINKS, BACKTICKS, TABS, BOLD)]
    for _ in range(200):  # the answers arrive from the worker (plain text until then)
        if all(html in answers(user) for html in expected):
            break
        await asyncio.sleep(0.05)
    assert all(html in answers(user) for html in expected)
    await user.open(f"/chat/{conversation_id}")  # again: drawn at once from the cache
    await user.should_see("[a]([a]([a](", retries=20)
    assert all(html in answers(user) for html in expected)


async def test_a_crafted_echo_streams_and_the_conversation_reloads(user: User) -> None:
    conversation_id = await open_new_chat(user)
    await send(user, "echo: " + LINKS)
    await user.should_see("Regenerate", retries=200)
    await user.should_see("[a]([a]([a](", retries=20)
    await user.open(f"/chat/{conversation_id}")
    await user.should_see("Regenerate", retries=50)
    await user.should_see("[a]([a]([a](", retries=20)
