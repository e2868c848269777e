"""Full-text search on SQLite (FTS5) and MariaDB (InnoDB FULLTEXT): kept current on every
write, ranked, highlighted safely, filtered, and never broken by what the user types."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from core.db import get_engine, session_scope
from models import Conversation, ConversationMessage, MessageRole, User, utcnow
from services.chat import conversations, folders
from services.chat.search import SearchFilters, search_conversations, snippet_html
from tests.factories import add_assistant, make_user

TRICKY = ['"', "*", "-", "(", "NEAR", "AND", "'", "%", "🦦", "", "   ", '"unclosed', "a OR b"]
TRICKY += ["NOT otter", "otter*", "-otter", "(otter", "otter)", "NEAR(otter, river)", "@otter"]


@pytest.fixture
def alice(database: str) -> User:
    return make_user("alice")


def chat(user: User, title: str, *texts: str, assistant=None) -> int:  # noqa: ANN001
    assistant = assistant or add_assistant(user, f"{user.username}'s helper")
    conversation = conversations.create_conversation(user, assistant.id)
    with session_scope() as session:
        stored = session.get(Conversation, conversation.id)
        stored.title = title
        session.add(stored)
        for text in texts:
            session.add(
                ConversationMessage(conversation_id=stored.id, role=MessageRole.user, content=text)
            )
    return conversation.id


def found(user: User, query: str, **filters: object) -> list[int]:
    return [
        h.conversation_id for h in search_conversations(user, query, SearchFilters(**filters)).hits
    ]


def test_the_index_exists_and_follows_inserts_updates_and_deletes(alice: User) -> None:
    if get_engine().dialect.name == "sqlite":
        with get_engine().connect() as conn:
            triggers = set(
                conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type='trigger'")
                ).scalars()
            )
        assert {"message_fts_insert", "message_fts_update", "message_fts_delete"} <= triggers
        assert {"conversation_fts_insert", "conversation_fts_update"} <= triggers
    first = chat(alice, "Holiday plans", "We should visit the lighthouse in Porto")
    assert found(alice, "lighthouse") == [first]
    with session_scope() as session:  # an edited message is found by its new text only
        message = session.exec(
            sa.select(ConversationMessage).where(ConversationMessage.conversation_id == first)
        ).scalar_one()
        message.content = "We should visit the windmill instead"
        session.add(message)
    assert found(alice, "lighthouse") == []
    assert found(alice, "windmill") == [first]
    conversations.rename_conversation(alice, first, "Dutch trip")  # title changes too
    assert found(alice, "holiday") == []
    assert found(alice, "dutch") == [first]
    conversations.delete_conversation(alice, first)
    assert found(alice, "windmill") == [] and found(alice, "dutch") == []


def test_ranked_best_first_with_a_highlighted_snippet(alice: User) -> None:
    once = chat(alice, "Notes", "a long text " * 30 + "that mentions kayaks once")
    often = chat(alice, "Kayaks", "kayaks kayaks and more kayaks")
    hits = search_conversations(alice, "kayak").hits  # a prefix of the word
    assert [h.conversation_id for h in hits] == [often, once]
    assert "<mark>kayaks</mark>" in hits[0].snippet_html
    assert (
        hits[1].snippet_html.startswith("…") and "<mark>kayaks</mark> once" in hits[1].snippet_html
    )


def test_every_word_must_match_in_title_or_message_text(alice: User) -> None:
    both = chat(alice, "Garden", "tomatoes and basil")
    chat(alice, "Kitchen", "tomatoes only")
    assert found(alice, "tomatoes basil") == [both]
    assert found(alice, "garden tomatoes") == []  # words are matched per title or per message
    assert set(found(alice, "tomatoes")) == {both, both + 1}


def test_the_snippet_is_escaped_before_it_is_highlighted(alice: User) -> None:
    chat(alice, "Markup", "<script>alert('pwned')</script> parrot <b>bold</b>")
    [hit] = search_conversations(alice, "parrot").hits
    assert "<script>" not in hit.snippet_html and "&lt;script&gt;" in hit.snippet_html
    assert "<mark>parrot</mark>" in hit.snippet_html and "&lt;b&gt;" in hit.snippet_html
    assert snippet_html('x <mark>"', ["mark"]) == "x &lt;<mark>mark</mark>&gt;&quot;"


def test_special_characters_are_data_never_syntax(alice: User) -> None:
    otter = chat(alice, "Rivers", 'the otter swims (fast) - 100% "really" near AND far 🦦')
    for query in TRICKY:
        search_conversations(alice, query)  # no error, whatever the user typed
    assert found(alice, '"otter') == [otter]
    assert found(alice, "otter*") == [otter]
    assert found(alice, "-otter") == [otter]  # not a NOT
    assert found(alice, "(fast)") == [otter]
    assert found(alice, "far AND swims") == [otter]
    assert found(alice, "") == [] and found(alice, "🦦") == []


def test_only_my_own_conversations_and_never_temporary_ones(alice: User) -> None:
    bob = make_user("bob")
    mine = chat(alice, "Mine", "penguin facts")
    chat(bob, "Bob's", "penguin facts")
    helper = add_assistant(alice, "Temp helper")
    temporary = conversations.create_conversation(alice, helper.id, temporary=True)
    with session_scope() as session:
        session.add(
            ConversationMessage(
                conversation_id=temporary.id, role=MessageRole.user, content="penguin secrets"
            )
        )
    assert found(alice, "penguin") == [mine]
    assert found(bob, "penguin") != [mine]


def test_filters_assistant_folder_archived_and_dates(alice: User) -> None:
    first_helper = add_assistant(alice, "First")
    second_helper = add_assistant(alice, "Second")
    a = chat(alice, "A", "zebra", assistant=first_helper)
    b = chat(alice, "B", "zebra", assistant=second_helper)
    old = chat(alice, "C", "zebra", assistant=second_helper)
    with session_scope() as session:
        session.get(Conversation, old).updated_at = utcnow() - timedelta(days=40)
    folder = folders.create_folder(alice, "Work")
    folders.move_conversations(alice, [b], folder.id)
    folders.set_archived(alice, [a], True)
    assert set(found(alice, "zebra")) == {b, old}  # archived chats stay out by default
    assert found(alice, "zebra", archived=True) == [a]
    assert set(found(alice, "zebra", archived=None)) == {a, b, old}
    assert set(found(alice, "zebra", assistant_id=second_helper.id)) == {b, old}
    assert found(alice, "zebra", folder_id=folder.id) == [b]
    today = utcnow().date()
    assert set(found(alice, "zebra", date_from=today - timedelta(days=1))) == {b}
    assert found(alice, "zebra", date_to=today - timedelta(days=30)) == [old]
    assert found(alice, "zebra", date_from=date(2000, 1, 1), date_to=date(2000, 1, 2)) == []


def test_pages_of_results(alice: User) -> None:
    ids = [chat(alice, f"Chat {n}", "walrus") for n in range(5)]
    first = search_conversations(alice, "walrus", limit=3)
    second = search_conversations(alice, "walrus", offset=3, limit=3)
    assert first.has_more and not second.has_more
    assert sorted(h.conversation_id for h in first.hits + second.hits) == ids
