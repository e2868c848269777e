"""Message tree: a message's parent and a conversation's active leaf

Revision ID: 0007
Revises: 0013
Create Date: 2026-12-02 00:50:00

Regenerate and Edit now keep the earlier message as a sibling instead of replacing it, so
messages form a tree: `conversation_message.parent_id` is the message a message follows (NULL
for a first message) and `conversation.active_message_id` is the leaf of the branch on show.
Today's linear conversations become single-branch trees: each message's parent is the one
before it (by id, within its conversation) and the active leaf is the last message.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARENT_FK = "fk_conversation_message_parent_id"
PARENT_INDEX = "ix_conversation_message_parent_id"
BATCH = 1000


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # On SQLite, plain ALTERs: a batch copy would drop and re-create the tables, which fails
    # while foreign keys are enforced and other rows (files, the ledger) point at them.
    if _is_sqlite():
        op.execute(
            "ALTER TABLE conversation_message ADD COLUMN parent_id INTEGER "
            "REFERENCES conversation_message (id) ON DELETE SET NULL"
        )
        op.create_index(PARENT_INDEX, "conversation_message", ["parent_id"])
    else:
        op.add_column("conversation_message", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_index(PARENT_INDEX, "conversation_message", ["parent_id"])
        op.create_foreign_key(
            PARENT_FK,
            "conversation_message",
            "conversation_message",
            ["parent_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.add_column("conversation", sa.Column("active_message_id", sa.Integer(), nullable=True))
    _link_linear_history()


def _link_linear_history() -> None:
    """Parent = the previous message of the same conversation; active leaf = the last one."""
    bind = op.get_bind()
    messages = sa.table(
        "conversation_message",
        sa.column("id", sa.Integer),
        sa.column("conversation_id", sa.Integer),
        sa.column("parent_id", sa.Integer),
    )
    rows = bind.execute(
        sa.select(messages.c.id, messages.c.conversation_id).order_by(
            messages.c.conversation_id, messages.c.id
        )
    )
    update = (
        sa.update(messages)
        .where(messages.c.id == sa.bindparam("message_id"))
        .values(parent_id=sa.bindparam("parent"))
    )
    pending: list[dict] = []
    previous: tuple[int, int] | None = None  # (conversation id, message id)
    for message_id, conversation_id in rows.all():
        if previous is not None and previous[0] == conversation_id:
            pending.append({"message_id": message_id, "parent": previous[1]})
        previous = (conversation_id, message_id)
        if len(pending) >= BATCH:
            bind.execute(update, pending)
            pending = []
    if pending:
        bind.execute(update, pending)
    op.execute(
        "UPDATE conversation SET active_message_id = (SELECT MAX(m.id) FROM conversation_message m"
        " WHERE m.conversation_id = conversation.id)"
    )


def downgrade() -> None:
    """Back to linear conversations: every message stays, in id order (siblings included)."""
    if _is_sqlite():  # SQLite 3.35+ drops these columns in place
        op.drop_index(PARENT_INDEX, "conversation_message")
        op.execute("ALTER TABLE conversation_message DROP COLUMN parent_id")
        op.execute("ALTER TABLE conversation DROP COLUMN active_message_id")
        return
    op.drop_column("conversation", "active_message_id")
    op.drop_constraint(PARENT_FK, "conversation_message", type_="foreignkey")
    op.drop_index(PARENT_INDEX, "conversation_message")
    op.drop_column("conversation_message", "parent_id")
