"""Share links (read-only conversation snapshots) and the prompt library

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-02 00:50:00

`share_link` keeps a copy of the shared messages and only the SHA-256 of the link's token.
`prompt` holds personal prompts and the team prompts admins curate.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _long_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "share_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("assistant_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("assistant_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("messages", sa.JSON(), nullable=True),
        sa.Column("file_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("share_link") as batch:
        batch.create_index("ix_share_link_owner_id", ["owner_id"])
        batch.create_index("ix_share_link_conversation_id", ["conversation_id"])

    op.create_table(
        "prompt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("team", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", _long_text(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
    )
    with op.batch_alter_table("prompt") as batch:
        batch.create_index("ix_prompt_owner_team", ["owner_id", "team"])
        batch.create_index("ix_prompt_team", ["team"])


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an FK's index first).
    op.drop_table("prompt")
    op.drop_table("share_link")
