"""The message tree: schema, migration 0007 and `services.chat.tree`, on SQLite and MariaDB."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import db
from core.db import session_scope
from models import Conversation, ConversationMessage, MessageRole, User
from services.chat import conversations, tree
from tests.factories import add_assistant, add_conversation, make_user


def _add(conversation_id: int, role: MessageRole, text: str, parent: int | None) -> int:
    with session_scope() as session:
        message = ConversationMessage(
            conversation_id=conversation_id, role=role, content=text, parent_id=parent
        )
        session.add(message)
        session.flush()
        return message.id


def _activate(conversation_id: int, leaf: int) -> None:
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        conversation.active_message_id = leaf
        session.add(conversation)


@pytest.fixture
def forked(database: str) -> dict[str, int]:
    """Q1 → A1 → Q2 with two answers (A2a, A2b), and an edit of Q1 (Q1b → A1b)."""
    owner = make_user("alice")
    chat_id = add_conversation(owner, add_assistant(owner))
    ids = {"chat": chat_id}
    ids["q1"] = _add(chat_id, MessageRole.user, "Q1", None)
    ids["a1"] = _add(chat_id, MessageRole.assistant, "A1", ids["q1"])
    ids["q2"] = _add(chat_id, MessageRole.user, "Q2", ids["a1"])
    ids["a2a"] = _add(chat_id, MessageRole.assistant, "A2a", ids["q2"])
    ids["a2b"] = _add(chat_id, MessageRole.assistant, "A2b", ids["q2"])
    ids["q1b"] = _add(chat_id, MessageRole.user, "Q1b", None)
    ids["a1b"] = _add(chat_id, MessageRole.assistant, "A1b", ids["q1b"])
    _activate(chat_id, ids["a2a"])
    return ids


def _contents(path: list[ConversationMessage]) -> list[str]:
    return [m.content for m in path]


def test_active_path_runs_root_to_leaf_along_the_active_branch(forked: dict[str, int]) -> None:
    with session_scope() as session:
        conversation = session.get(Conversation, forked["chat"])
        assert _contents(tree.active_path(session, conversation)) == ["Q1", "A1", "Q2", "A2a"]
        conversation.active_message_id = forked["a1b"]
        assert _contents(tree.active_path(session, conversation)) == ["Q1b", "A1b"]


def test_no_leaf_reads_linear_and_a_missing_leaf_the_newest(forked: dict[str, int]) -> None:
    with session_scope() as session:
        conversation = session.get(Conversation, forked["chat"])
        conversation.active_message_id = None
        assert len(tree.active_path(session, conversation)) == 7
        assert tree.branches(tree.all_messages(session, conversation.id), [], None) == {}
        conversation.active_message_id = 999_999
        assert _contents(tree.active_path(session, conversation)) == ["Q1b", "A1b"]
    with session_scope() as session:
        empty = Conversation(owner_id=1, title="Empty")
        session.add(empty)
        session.flush()
        assert tree.active_path(session, empty) == []


def test_tail_reads_the_newest_of_the_active_branch_and_matches_the_path(
    forked: dict[str, int],
) -> None:
    """The send path's context read (a recursive walk up from the leaf) ends where the
    whole active path ends, on every leaf, with none and with a missing one."""
    with session_scope() as session:
        conversation = session.get(Conversation, forked["chat"])
        for leaf in (forked["a2a"], forked["a2b"], forked["a1b"], None, 999_999):
            conversation.active_message_id = leaf
            path = _contents(tree.active_path(session, conversation))
            for count in (1, 2, 3, 10):
                assert _contents(tree.tail(session, conversation, count)) == path[-count:]
        conversation.active_message_id = forked["a2b"]
        assert _contents(tree.tail(session, conversation, 3)) == ["A1", "Q2", "A2b"]
        assert tree.leaf_id(session, conversation) == forked["a2b"]
        conversation.active_message_id = 999_999  # gone: the newest message, as the path reads
        assert tree.leaf_id(session, conversation) == forked["a1b"]


def test_siblings_share_a_parent_and_roots_are_siblings(forked: dict[str, int]) -> None:
    with session_scope() as session:
        answer = session.get(ConversationMessage, forked["a2b"])
        assert _contents(tree.siblings(session, answer)) == ["A2a", "A2b"]
        root = session.get(ConversationMessage, forked["q1"])
        assert _contents(tree.siblings(session, root)) == ["Q1", "Q1b"]
        only = session.get(ConversationMessage, forked["a1"])
        assert _contents(tree.siblings(session, only)) == ["A1"]


def test_branches_say_where_each_message_sits(forked: dict[str, int]) -> None:
    with session_scope() as session:
        conversation = session.get(Conversation, forked["chat"])
        messages = tree.all_messages(session, conversation.id)
        found = tree.branches(
            messages, tree.active_path(session, conversation), conversation.active_message_id
        )
    assert found == {
        forked["q1"]: tree.Branch(1, 2, None, forked["q1b"]),
        forked["a2a"]: tree.Branch(1, 2, None, forked["a2b"]),
    }


def test_leaf_under_follows_the_newest_child(forked: dict[str, int]) -> None:
    with session_scope() as session:
        messages = tree.all_messages(session, forked["chat"])
    assert tree.leaf_under(messages, forked["q1"]) == forked["a2b"]
    assert tree.leaf_under(messages, forked["q1b"]) == forked["a1b"]
    assert tree.leaf_under(messages, forked["a2a"]) == forked["a2a"]


def test_deleting_a_conversation_with_branches_works(forked: dict[str, int]) -> None:
    """The self-referencing foreign key must not block deleting a whole tree (MariaDB checks
    it row by row)."""
    with session_scope() as session:
        owner = session.get(User, session.get(Conversation, forked["chat"]).owner_id)
    conversations.delete_conversation(owner, forked["chat"])
    with session_scope() as session:
        assert session.get(ConversationMessage, forked["q1"]) is None


# ---------------------------------------------------------------- migration 0007


def _old_shape_rows(url: str) -> None:
    """Two linear conversations and an empty one, as 0006 stored them."""
    engine = db.build_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO user (id, username, password_hash, role, token_version, "
                "is_active, theme, created_at, updated_at) VALUES "
                "(1, 'ann', 'x', 'member', 0, 1, 'auto', '2026-11-02', '2026-11-02')"
            )
        )
        for chat_id in (7, 8, 9):
            conn.execute(
                sa.text(
                    "INSERT INTO conversation (id, owner_id, title, summary, message_count, "
                    "input_tokens, output_tokens, cost_micros, created_at, updated_at) VALUES "
                    "(:id, 1, 'Old chat', '', 0, 0, 0, 0, '2026-11-02', '2026-11-02')"
                ),
                {"id": chat_id},
            )
        # Interleaved ids across conversations, as real traffic leaves them.
        for mid, chat_id, role in (
            (1, 7, "user"),
            (2, 8, "user"),
            (3, 7, "assistant"),
            (4, 8, "assistant"),
            (5, 7, "user"),
            (6, 7, "assistant"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO conversation_message (id, conversation_id, role, content, "
                    "status, attachments, citations, input_tokens, cached_tokens, "
                    "output_tokens, reasoning_tokens, cache_write_tokens, reasoning_summary, "
                    "tool_calls, created_at, updated_at) VALUES (:id, :chat, :role, :text, "
                    "'complete', '[]', '[]', 0, 0, 0, 0, 0, '', '{}', '2026-11-02', "
                    "'2026-11-02')"
                ),
                {"id": mid, "chat": chat_id, "role": role, "text": f"m{mid}"},
            )
    engine.dispose()


def _migrate_old_rows(url: str) -> None:
    from alembic import command

    config = db.alembic_config(url)
    command.upgrade(config, "0006")
    _old_shape_rows(url)
    command.upgrade(config, "head")  # 0007 and every later migration (the app reads at head)
    engine = db.build_engine(url)
    with engine.connect() as conn:
        parents = dict(
            conn.execute(sa.text("SELECT id, parent_id FROM conversation_message")).all()
        )
        active = dict(conn.execute(sa.text("SELECT id, active_message_id FROM conversation")).all())
        columns = {c["name"] for c in sa.inspect(conn).get_columns("conversation_message")}
        keys = sa.inspect(conn).get_foreign_keys("conversation_message")
    engine.dispose()
    assert parents == {1: None, 2: None, 3: 1, 4: 2, 5: 3, 6: 5}
    assert active == {7: 6, 8: 4, 9: None}
    assert "parent_id" in columns
    assert any(k["constrained_columns"] == ["parent_id"] for k in keys)
    db.reset_engine()
    with session_scope() as session:  # the app reads the migrated rows as one branch
        path = tree.active_path(session, session.get(Conversation, 7))
        assert [m.id for m in path] == [1, 3, 5, 6]
    command.downgrade(config, "0006")
    engine = db.build_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("conversation_message")}
        count = conn.execute(sa.text("SELECT COUNT(*) FROM conversation_message")).scalar()
    engine.dispose()
    assert "parent_id" not in columns and count == 6


def test_migration_links_linear_history_on_sqlite(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'tree.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.reset_engine()
    _migrate_old_rows(url)


@pytest.mark.mariadb
def test_migration_links_linear_history_on_mariadb(mariadb_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", mariadb_url)
    from core.config import get_settings

    get_settings.cache_clear()
    db.reset_engine()
    _migrate_old_rows(mariadb_url)
