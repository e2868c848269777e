"""Full-text search on SQLite (FTS5) and MariaDB (InnoDB FULLTEXT): kept current on every
write, ranked, highlighted safely, filtered, and never broken by what the user types."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from core.db import get_engine, session_scope
from models import Conversation, ConversationMessage, MessageRole, User, utcnow
from services.chat import conversations, folders, search_backends
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
        assert "conversation_owner_messages_fts" in triggers
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


def assert_index_consistent() -> None:
    """SQLite: FTS5 checks its index against the content (a wrong value passed by a trigger,
    such as a missing owner, fails here)."""
    if get_engine().dialect.name != "sqlite":
        return
    with get_engine().begin() as conn:
        for table in ("message_fts", "conversation_fts"):
            conn.exec_driver_sql(
                f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"
            )


def test_the_index_follows_a_change_of_owner_and_of_conversation(alice: User) -> None:
    bob = make_user("bob")
    moved = chat(alice, "Beekeeping", "honey harvest in june")
    other = chat(alice, "Other", "unrelated words")
    with session_scope() as session:  # a message moved into another conversation
        message = session.exec(
            sa.select(ConversationMessage).where(ConversationMessage.conversation_id == moved)
        ).scalar_one()
        message.conversation_id = other
        session.add(message)
    assert found(alice, "honey") == [other]
    with session_scope() as session:  # a conversation handed to another user
        session.get(Conversation, other).owner_id = bob.id
    assert found(alice, "honey") == [] and found(alice, "unrelated") == []
    assert found(bob, "honey") == [other] and found(bob, "other") == [other]
    assert_index_consistent()
    conversations.delete_conversation(bob, other)
    assert found(bob, "honey") == []
    assert_index_consistent()


def test_many_matches_rank_the_newest_after_the_filters(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_backends, "CANDIDATES", 3)  # SQLite's window
    monkeypatch.setattr(search_backends, "RECENT_MATCHES", 3)  # MariaDB's
    archived = chat(alice, "Old", "heron spotted")
    folders.set_archived(alice, [archived], True)
    newer = [chat(alice, f"New {n}", "heron seen", "heron again") for n in range(3)]
    page = search_conversations(alice, "heron")
    assert page.recent_only  # 6 matching messages, the newest 3 ranked
    assert {h.conversation_id for h in page.hits} <= set(newer) and page.hits
    archive = search_conversations(alice, "heron", SearchFilters(archived=True))
    assert [h.conversation_id for h in archive.hits] == [archived]  # filtered, then limited
    assert not archive.recent_only
    assert not search_conversations(alice, "spotted").recent_only


def test_rare_words_are_found_in_old_messages_past_the_recent_scan(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MariaDB reads the newest SCAN_ROWS messages first; a word not among them goes to
    # FULLTEXT, or, when estimated too common for it, the recent matches are ranked.
    monkeypatch.setattr(search_backends, "SCAN_ROWS", 4)
    monkeypatch.setattr(search_backends, "SAMPLE_ROWS", 4)
    old = chat(alice, "Old notes", "the narwhal tusk is a common word")
    with session_scope() as session:
        session.get(Conversation, old).updated_at = utcnow() - timedelta(days=300)
    recent = [chat(alice, f"Recent {n}", "common word", "more words here") for n in range(4)]
    assert found(alice, "narwhal") == [old]
    assert found(alice, "narwhal common") == [old]  # the rarest word to FULLTEXT, then REGEXP
    assert found(alice, "tusk narwhal") == [old]
    page = search_conversations(alice, "common")
    assert {h.conversation_id for h in page.hits} == {old, *recent}
    monkeypatch.setattr(search_backends, "FULLTEXT_MAX_DOCS", 0)  # nothing is rare enough
    page = search_conversations(alice, "narwhal")
    common = search_conversations(alice, "common")
    if get_engine().dialect.name != "sqlite":
        assert page.hits == [] and page.recent_only  # not among the newest; the page says so
        assert common.recent_only and common.hits
        assert {h.conversation_id for h in common.hits} <= set(recent)  # the newest ones
    else:
        assert [h.conversation_id for h in page.hits] == [old]
        assert {h.conversation_id for h in common.hits} == {old, *recent}
