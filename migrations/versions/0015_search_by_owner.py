"""Search by owner: the SQLite full-text tables index each row's owner

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-02 05:00:00

0009's FTS5 tables knew only the text, so a search found every user's matches and then joined
each one to its conversation to keep the searcher's: a common word cost a join per message in
the whole database. Here `message_fts` and `conversation_fts` get a second indexed column,
`owner_id`, and a search matches `owner_id : N AND content : (...)`: FTS5 intersects the two
doclists and only the searcher's rows come out.

- `message_fts` takes its content from the view `message_search_source` (message text + the
  conversation's owner), so 'rebuild' and 'integrity-check' keep working; `conversation_fts`
  from `conversation` itself (title, owner_id).
- The triggers pass the owner with every insert and delete; a message that moves to another
  conversation, or a conversation that changes owner, is re-indexed.
- MariaDB: nothing changes here (its FULLTEXT indexes are InnoDB's).

Like 0009's, these triggers are dropped by a SQLite batch rebuild ("move and copy") of
`conversation` or `conversation_message`: such a later migration must call
`create_sqlite_search()` from this one again (it is idempotent);
tests/integration/test_search_service.py fails at head if a trigger is missing.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0015"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZER = "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4'"
OWNER = "(SELECT owner_id FROM conversation WHERE id = {row}.conversation_id)"
SQLITE_SEARCH = [
    """CREATE VIEW IF NOT EXISTS message_search_source AS
    SELECT m.id AS id, m.content AS content, c.owner_id AS owner_id
    FROM conversation_message m JOIN conversation c ON c.id = m.conversation_id""",
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(content, owner_id, "
    f"content='message_search_source', content_rowid='id', {TOKENIZER})",
    "CREATE VIRTUAL TABLE IF NOT EXISTS conversation_fts USING fts5(title, owner_id, "
    f"content='conversation', content_rowid='id', {TOKENIZER})",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON conversation_message BEGIN
        INSERT INTO message_fts(rowid, content, owner_id)
        VALUES (new.id, new.content, {OWNER.format(row="new")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON conversation_message BEGIN
        INSERT INTO message_fts(message_fts, rowid, content, owner_id)
        VALUES ('delete', old.id, old.content, {OWNER.format(row="old")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_update
    AFTER UPDATE OF content, conversation_id ON conversation_message BEGIN
        INSERT INTO message_fts(message_fts, rowid, content, owner_id)
        VALUES ('delete', old.id, old.content, {OWNER.format(row="old")});
        INSERT INTO message_fts(rowid, content, owner_id)
        VALUES (new.id, new.content, {OWNER.format(row="new")});
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_insert AFTER INSERT ON conversation BEGIN
        INSERT INTO conversation_fts(rowid, title, owner_id)
        VALUES (new.id, new.title, new.owner_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_delete AFTER DELETE ON conversation BEGIN
        INSERT INTO conversation_fts(conversation_fts, rowid, title, owner_id)
        VALUES ('delete', old.id, old.title, old.owner_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_update
    AFTER UPDATE OF title, owner_id ON conversation BEGIN
        INSERT INTO conversation_fts(conversation_fts, rowid, title, owner_id)
        VALUES ('delete', old.id, old.title, old.owner_id);
        INSERT INTO conversation_fts(rowid, title, owner_id)
        VALUES (new.id, new.title, new.owner_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_owner_messages_fts
    AFTER UPDATE OF owner_id ON conversation BEGIN
        INSERT INTO message_fts(message_fts, rowid, content, owner_id)
        SELECT 'delete', id, content, old.owner_id FROM conversation_message
        WHERE conversation_id = old.id;
        INSERT INTO message_fts(rowid, content, owner_id)
        SELECT id, content, new.owner_id FROM conversation_message WHERE conversation_id = new.id;
    END""",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    "INSERT INTO conversation_fts(conversation_fts) VALUES ('rebuild')",
]
SQLITE_TRIGGERS = (
    "message_fts_insert",
    "message_fts_delete",
    "message_fts_update",
    "conversation_fts_insert",
    "conversation_fts_delete",
    "conversation_fts_update",
    "conversation_owner_messages_fts",
)


def create_sqlite_search() -> None:
    """The FTS5 tables, their content view and triggers, rebuilt (safe to re-run)."""
    for statement in SQLITE_SEARCH:
        op.execute(statement)


def drop_sqlite_search() -> None:
    """Drop what `create_sqlite_search` makes (and 0009's tables of the same names)."""
    for trigger in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS message_fts")
    op.execute("DROP TABLE IF EXISTS conversation_fts")
    op.execute("DROP VIEW IF EXISTS message_search_source")


def _revision_0009():  # noqa: ANN202 - a migration module
    """0009's module (Alembic loads revisions by path; their names are not importable)."""
    path = Path(__file__).with_name("0009_organize_search.py")
    spec = importlib.util.spec_from_file_location("revision_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        drop_sqlite_search()
        create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        drop_sqlite_search()
        _revision_0009().create_sqlite_search()
