"""Scale-out: instance heartbeats, and which instance writes each streaming reply

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-02 00:50:00

`instance` holds one row per running app instance with its last heartbeat. A reply row names
the instance writing it (`conversation_message.instance_id`), so survivors close only the live
replies of an instance that stopped beating, and a starting instance closes no one else's.
Existing rows get NULL (closed like before, by the first sweep, if still streaming).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0013"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "instance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("beat_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_message") as batch:
        batch.add_column(sa.Column("instance_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_message_status_instance", ["status", "instance_id"])


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would re-create the table, which fails
    # while foreign keys are enforced and rows point at it.
    op.drop_index("ix_message_status_instance", table_name="conversation_message")
    op.drop_column("conversation_message", "instance_id")
    op.drop_table("instance")
