"""Feedback on answers: thumbs up/down with an optional comment (issue 14)

Revision ID: 0008
Revises: 0010
Create Date: 2026-12-02 01:10:00

One row per user and answer (unique), changeable. Plain ids (no foreign keys), like the
ledger's: deleting a conversation deletes its feedback in the service.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("assistant_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column(
            "comment", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=True
        ),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.UniqueConstraint("message_id", "user_id", name="uq_answer_feedback_message_user"),
    )
    op.create_index("ix_answer_feedback_message_id", "answer_feedback", ["message_id"])
    op.create_index("ix_answer_feedback_user_id", "answer_feedback", ["user_id"])
    op.create_index(
        "ix_answer_feedback_assistant_updated", "answer_feedback", ["assistant_id", "updated_at"]
    )
    op.create_index("ix_answer_feedback_conversation", "answer_feedback", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("answer_feedback")
