"""Crafted messages through a real turn (simulator, real SDK), on SQLite and MariaDB.

The messages of issue 13 are sent and echoed back, saved, and the conversation is then read
and rendered the way the chat page does: the render worker's warm-up returns within its
budget (the page stays inside NiceGUI's 3 s response timeout) and every message renders
without an exception, keeping its text.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest

from models import Conversation, MessageRole, MessageStatus, User
from services.chat import conversations, render_worker, rendering
from services.chat import turn as chat
from tests.integration.test_chat_service import (  # noqa: F401 - fixtures
    conversation,
    owner,
    run_turn,
)

CRAFTED = [
    "echo: " + "[a](" * 7_990,
    "echo: " + "`" * 31_990,
    "echo: tabbed" + "\t" * 1_000 + "end",
]


pytestmark = pytest.mark.usefixtures("long_replies")


@pytest.fixture(autouse=True)
def cold_cache() -> Iterator[None]:
    rendering.render_markdown.cache_clear()
    yield
    render_worker.shutdown()


def visible_text(fragment: str) -> str:
    return re.sub(r"\s", "", html.unescape(re.sub(r"<[^>]+>", "", fragment)))


async def test_crafted_replies_are_saved_and_their_conversation_renders(
    owner: User,  # noqa: F811 - the fixtures imported above
    conversation: Conversation,  # noqa: F811
) -> None:
    for text in CRAFTED:
        turn = await chat.send(owner, conversation.id, text)
        reply = await run_turn(turn)
        assert reply.status == MessageStatus.complete
        assert reply.content == text.removeprefix("echo: ")
    view = conversations.conversation_view(owner, conversation.id)
    assert len(view.messages) == 2 * len(CRAFTED)
    messages = [(m.content, m.citations) for m in view.messages]
    start = time.monotonic()
    render_worker.warm(messages)
    assert time.monotonic() - start < render_worker.WARM_BUDGET_SECONDS + 1.0
    for message in view.messages:
        body = render_worker.render_isolated(message.content, message.citations)
        if message.role == MessageRole.assistant and "`" not in message.content:
            assert visible_text(body) == re.sub(r"\s", "", message.content)
    links = next(m for m in view.messages if m.role == MessageRole.assistant)
    assert rendering.cached_html(links.content) == rendering.render_fresh(links.content)
