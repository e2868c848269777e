"""Import of a ChatGPT export (with branches) and of our own export, on SQLite and MariaDB;
malformed and oversized files leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from sqlmodel import func, select

from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import Conversation, ConversationMessage, MessageRole
from services.assistants.manage import AssistantInput, create_assistant
from services.chat.export import export_json
from services.chat.importer import import_conversations
from services.chat.tree import active_path, all_messages
from tests.factories import make_user

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt_conversations.json"


@pytest.fixture
def people(database: str) -> tuple:
    alice, bob = make_user("alice"), make_user("bob")
    assistant = create_assistant(alice, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    return alice, bob, assistant


def counts() -> tuple[int, int]:
    with session_scope() as session:
        return (
            session.exec(select(func.count()).select_from(Conversation)).one(),
            session.exec(select(func.count()).select_from(ConversationMessage)).one(),
        )


def test_chatgpt_export_with_branches(people: tuple) -> None:
    alice, _, assistant = people
    report = import_conversations(alice, FIXTURE.read_bytes(), assistant.id)
    assert report.source == "a ChatGPT export"
    assert [(c.title, c.messages, c.branches) for c in report.conversations] == [
        ("Lisbon weekend", 6, 2),
        ("Python decorators", 2, 1),
    ]
    assert dict(report.skipped) == {
        "system message(s)": 2,
        "non-text part(s) (image_asset_pointer)": 1,
        "tool message(s)": 2,
        "code message(s)": 1,
        "conversation(s) without text messages": 1,
    }
    assert "Imported 2 conversation(s) with 8 message(s)" in report.summary()
    with session_scope() as session:
        lisbon = session.get(Conversation, report.conversations[0].id)
        assert lisbon.owner_id == alice.id and lisbon.assistant_id == assistant.id
        assert lisbon.message_count == 6
        path = active_path(session, lisbon)  # current_node: the second branch
        assert [m.content[:12] for m in path] == [
            "Plan two day",
            "Day 1: Alfam",
            "Where should",
            "Try Taberna ",
        ]
        assert [m.role for m in path] == [MessageRole.user, MessageRole.assistant] * 2
        assert path[1].model == "gpt-4o" and path[0].created_at.year == 2025
        everything = all_messages(session, lisbon.id)
        sintra = [m for m in everything if m.content.startswith("Add a day trip")]
        assert sintra and sintra[0].parent_id == path[1].id  # the other branch, same parent
        assert path[0].parent_id is None  # the hidden system root was stepped over
        assert all(m.cost_micros is None and m.input_tokens == 0 for m in everything)


def test_own_export_round_trip(people: tuple) -> None:
    alice, bob, assistant = people
    first = import_conversations(alice, FIXTURE.read_bytes(), assistant.id).conversations[0]
    exported = orjson.dumps(export_json(alice, first.id))
    own = create_assistant(bob, AssistantInput(name="Bob's", model="gpt-4.1-mini"))
    report = import_conversations(bob, exported, own.id)
    assert report.source == "an Assistant Studio export"
    (copy,) = report.conversations
    assert copy.title == "Lisbon weekend" and copy.branches == 1
    with session_scope() as session:
        conversation = session.get(Conversation, copy.id)
        assert conversation.owner_id == bob.id
        texts = [m.content for m in active_path(session, conversation)]
    assert texts == [m["content"] for m in orjson.loads(exported)["messages"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"hello": "world"}', "neither a ChatGPT export"),
        (b"[]", "holds no conversations"),
        (b'[{"title": "x", "mapping": []}]', "Conversation 1 of the file is malformed"),
    ],
)
def test_bad_files_get_a_clear_message(people: tuple, content: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        import_conversations(people[0], content, None)
    assert counts() == (0, 0)


def test_malformed_conversation_late_in_the_file_leaves_nothing(people: tuple) -> None:
    items = json.loads(FIXTURE.read_text())
    broken = dict(items[1])
    broken["mapping"] = {"n": {"message": {"author": {"role": "user"}, "content": "oops"}}}
    with pytest.raises(ValidationError, match="Conversation 3 .* malformed.*Nothing was imported"):
        import_conversations(people[0], json.dumps([*items[:2], broken]).encode(), None)
    assert counts() == (0, 0)  # the two good ones before it were rolled back too


def test_huge_file_is_refused(people: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORT_MAX_MB", "1")
    get_settings.cache_clear()
    items = json.loads(FIXTURE.read_text()) * 200  # ~1.7 MB
    with pytest.raises(ValidationError, match="at most 1 MB"):
        import_conversations(people[0], json.dumps(items).encode(), None)
    assert counts() == (0, 0)


def test_assistant_must_be_usable(people: tuple) -> None:
    _, bob, alices = people
    with pytest.raises(NotFound):
        import_conversations(bob, FIXTURE.read_bytes(), alices.id)
    assert counts() == (0, 0)
