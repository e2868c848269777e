"""Conversation export as Markdown and JSON, on SQLite and MariaDB."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from core.db import session_scope
from core.errors import NotFound
from models import (
    Conversation,
    ConversationMessage,
    FilePurpose,
    MessageRole,
    MessageStatus,
    User,
)
from services.assistants.manage import AssistantInput, create_assistant
from services.chat.conversations import create_conversation
from services.chat.export import export_filename, export_json, export_markdown
from services.files import store as file_store
from tests.factories import make_user

ASKED_AT = datetime(2026, 11, 20, 9, 30, 5, tzinfo=UTC)
ANSWERED_AT = datetime(2026, 11, 20, 9, 30, 9, tzinfo=UTC)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def chat(database: str) -> tuple[User, User, int]:
    """Alice's conversation with a question (two attachments) and a cited answer; and bob."""
    alice = make_user("alice")
    bob = make_user("bob")
    assistant = create_assistant(alice, AssistantInput(name="Travel helper", model="gpt-4.1-mini"))
    conversation_id = create_conversation(alice, assistant.id).id
    image = file_store.store_image(alice, png_bytes(), "map.png", conversation_id=conversation_id)
    with session_scope() as session:
        question = ConversationMessage(
            conversation_id=conversation_id,
            role=MessageRole.user,
            content="Plan **two days** in Lisbon.",
            attachments=[{"id": image.id, "name": "map.png", "mime": "image/png"}],
            created_at=ASKED_AT,
        )
        answer = ConversationMessage(
            conversation_id=conversation_id,
            role=MessageRole.assistant,
            content="Day 1: Alfama. Day 2: Belém.",
            status=MessageStatus.complete,
            citations=[
                {"kind": "url", "title": "Visit Lisboa", "url": "https://www.visitlisboa.com/"}
            ],
            input_tokens=1200,
            cached_tokens=200,
            output_tokens=340,
            reasoning_tokens=0,
            cost_micros=1_234,
            model="gpt-4.1-mini-2025-04-14",
            created_at=ANSWERED_AT,
        )
        failed = ConversationMessage(
            conversation_id=conversation_id,
            role=MessageRole.assistant,
            content="Day 3:",
            status=MessageStatus.failed,
            error="The provider is not answering.",
            cost_micros=None,
            created_at=ANSWERED_AT,
        )
        session.add_all([question, answer, failed])
        conversation = session.get(Conversation, conversation_id)
        conversation.title = "Lisbon / weekend?"
        conversation.input_tokens, conversation.output_tokens = 1200, 340
        conversation.cost_micros = 1_234
        conversation.message_count = 3
        session.add(conversation)
        session.flush()
        answer_id = answer.id
    # A generated file linked to the answer's message shows up as an attachment too.
    file_store.store_file(
        alice,
        b"a,b\n1,2\n",
        "itinerary.csv",
        "text/csv",
        FilePurpose.generated,
        conversation_id=conversation_id,
        message_id=answer_id,
    )
    return alice, bob, conversation_id


def test_export_json_has_every_figure(chat: tuple[User, User, int]) -> None:
    alice, _, conversation_id = chat
    data = export_json(alice, conversation_id)
    json.dumps(data)  # JSON-ready as it is
    meta = data["conversation"]
    assert meta["title"] == "Lisbon / weekend?" and meta["assistant"] == "Travel helper"
    assert meta["model"] == "gpt-4.1-mini" and meta["message_count"] == 3
    assert (meta["input_tokens"], meta["output_tokens"]) == (1200, 340)
    assert meta["cost_micros"] == 1234 and meta["cost_usd"] == 0.001234
    assert meta["created_at"].endswith("Z")
    question, answer, failed = data["messages"]
    assert question["role"] == "user" and question["status"] == "complete"
    assert question["created_at"] == "2026-11-20T09:30:05Z"
    assert question["attachments"] == ["map.png"]
    assert answer == answer | {
        "role": "assistant",
        "status": "complete",
        "created_at": "2026-11-20T09:30:09Z",
        "content": "Day 1: Alfama. Day 2: Belém.",
        "model": "gpt-4.1-mini-2025-04-14",
        "input_tokens": 1200,
        "cached_tokens": 200,
        "output_tokens": 340,
        "reasoning_tokens": 0,
        "cost_micros": 1234,
        "cost_usd": 0.001234,
        "attachments": ["itinerary.csv"],
        "citations": [
            {"title": "Visit Lisboa", "url": "https://www.visitlisboa.com/", "filename": None}
        ],
    }
    assert failed["status"] == "failed" and failed["error"] == "The provider is not answering."
    assert failed["cost_micros"] is None and failed["cost_usd"] is None


def test_export_markdown_reads_well(chat: tuple[User, User, int]) -> None:
    alice, _, conversation_id = chat
    text = export_markdown(alice, conversation_id)
    assert text.startswith("# Lisbon / weekend?\n")
    assert "- Assistant: Travel helper (gpt-4.1-mini)" in text
    assert "- Tokens: 1,200 in / 340 out" in text and "- Cost: $0.0012" in text
    assert "### You · 2026-11-20T09:30:05Z\n\nPlan **two days** in Lisbon." in text
    assert "Attachments: `map.png`" in text
    assert (
        "### Assistant · 2026-11-20T09:30:09Z · gpt-4.1-mini-2025-04-14 · "
        "1,200 in / 340 out tokens · cost $0.0012" in text
    )
    assert "Attachments: `itinerary.csv`" in text
    assert "[1] Visit Lisboa <https://www.visitlisboa.com/>" in text
    assert "cost unknown · failed" in text and "> Error: The provider is not answering." in text
    assert text.index("Plan **two days**") < text.index("Day 1") < text.index("Day 3")


def test_only_the_owner_can_export(chat: tuple[User, User, int]) -> None:
    _, bob, conversation_id = chat
    for export in (export_json, export_markdown):
        with pytest.raises(NotFound):
            export(bob, conversation_id)
        with pytest.raises(NotFound):
            export(bob, 999_999)


def test_export_filename_is_safe() -> None:
    assert export_filename("Lisbon / weekend?", "md") == "Lisbon-weekend.md"
    assert export_filename("../../etc", "json") == "etc.json"
    assert export_filename("日本", "md") == "conversation.md"
