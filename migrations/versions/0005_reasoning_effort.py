"""Reasoning models: an assistant's reasoning effort; a reply's reasoning summary, cache-write
tokens and the statuses `incomplete` and `refused`

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 22:00:00

Existing rows keep working: no effort (the model's default), an empty summary, 0 tokens.
SQLite stores the status enum as plain text, so only MySQL/MariaDB need the ENUM widened.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("streaming", "complete", "stopped", "failed")
NEW_STATUSES = (*OLD_STATUSES, "incomplete", "refused")
SUMMARY_TYPE = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mariadb").with_variant(
    mysql.MEDIUMTEXT(), "mysql"
)


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("assistant") as batch:
        batch.add_column(sa.Column("reasoning_effort", sa.String(length=16), nullable=True))
    with op.batch_alter_table("conversation_message") as batch:
        batch.add_column(
            sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("reasoning_summary", SUMMARY_TYPE, nullable=False, server_default="")
        )
    if _is_mysql():
        op.alter_column(
            "conversation_message",
            "status",
            existing_type=sa.Enum(*OLD_STATUSES, name="messagestatus"),
            type_=sa.Enum(*NEW_STATUSES, name="messagestatus"),
            existing_nullable=False,
        )


def downgrade() -> None:
    if _is_mysql():
        op.execute(
            "UPDATE conversation_message SET status = 'failed' "
            "WHERE status IN ('incomplete', 'refused')"
        )
        op.alter_column(
            "conversation_message",
            "status",
            existing_type=sa.Enum(*NEW_STATUSES, name="messagestatus"),
            type_=sa.Enum(*OLD_STATUSES, name="messagestatus"),
            existing_nullable=False,
        )
    with op.batch_alter_table("conversation_message") as batch:
        batch.drop_column("reasoning_summary")
        batch.drop_column("cache_write_tokens")
    with op.batch_alter_table("assistant") as batch:
        batch.drop_column("reasoning_effort")
