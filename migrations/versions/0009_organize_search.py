"""Organize and search: folders, pins, archive, temporary chats, full-text search indexes

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-02 00:50:00

- `folder` table; `conversation.folder_id` (a plain id, no foreign key, see below), `pinned`,
  `archived`, `temporary` (never listed or searched, purged by a periodic job).
- Full-text search over message text and conversation titles:
  - SQLite: two external-content FTS5 tables (`message_fts` over conversation_message.content,
    `conversation_fts` over conversation.title, with prefix indexes for type-ahead) kept current by AFTER INSERT/UPDATE/DELETE
    triggers, filled once here with 'rebuild'.
  - MariaDB: InnoDB FULLTEXT indexes on the same two columns (InnoDB maintains them itself).

The columns are added with plain ALTER TABLE ADD COLUMN: a SQLite batch rebuild ("move and
copy") of `conversation` or `conversation_message` would drop the triggers. A later migration
that rebuilds either table on SQLite must call `create_sqlite_search()` again (it is idempotent);
tests/integration/test_search_service.py fails at head if a trigger is missing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(content, "
    "content='conversation_message', content_rowid='id', tokenize='unicode61 remove_diacritics 2', "
    "prefix='2 3 4')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS conversation_fts USING fts5(title, "
    "content='conversation', content_rowid='id', tokenize='unicode61 remove_diacritics 2', "
    "prefix='2 3 4')",
    """CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON conversation_message BEGIN
        INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON conversation_message BEGIN
        INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF content
    ON conversation_message BEGIN
        INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_insert AFTER INSERT ON conversation BEGIN
        INSERT INTO conversation_fts(rowid, title) VALUES (new.id, new.title);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_delete AFTER DELETE ON conversation BEGIN
        INSERT INTO conversation_fts(conversation_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
    END""",
    """CREATE TRIGGER IF NOT EXISTS conversation_fts_update AFTER UPDATE OF title
    ON conversation BEGIN
        INSERT INTO conversation_fts(conversation_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
        INSERT INTO conversation_fts(rowid, title) VALUES (new.id, new.title);
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
)


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def create_sqlite_search() -> None:
    """The FTS5 tables and triggers, rebuilt from the content tables (safe to re-run)."""
    for statement in SQLITE_SEARCH:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "folder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
    )
    op.create_index("ix_folder_owner_name", "folder", ["owner_id", "name"])
    op.add_column("conversation", sa.Column("folder_id", sa.Integer(), nullable=True))
    for name in ("pinned", "archived", "temporary"):
        op.add_column(
            "conversation",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )
    op.create_index("ix_conversation_folder_id", "conversation", ["folder_id"])
    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_search()
    else:
        op.create_index(
            "ft_message_content", "conversation_message", ["content"], mysql_prefix="FULLTEXT"
        )
        op.create_index("ft_conversation_title", "conversation", ["title"], mysql_prefix="FULLTEXT")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS message_fts")
        op.execute("DROP TABLE IF EXISTS conversation_fts")
    else:
        op.drop_index("ft_conversation_title", table_name="conversation")
        op.drop_index("ft_message_content", table_name="conversation_message")
    op.drop_index("ix_conversation_folder_id", table_name="conversation")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy would re-create the table,
    # which fails while foreign keys are enforced and messages point at it.
    for name in ("temporary", "archived", "pinned", "folder_id"):
        op.drop_column("conversation", name)
    op.drop_table("folder")
