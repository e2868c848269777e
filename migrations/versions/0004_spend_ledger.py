"""The spend ledger, budget reservations, per-user limits and a per-conversation cap

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:50:00

Spend used to be the sum of the message rows that still exist, so deleting a conversation or
an account made it disappear. From here on budgets and dashboards read `spend_ledger`, which
keeps plain ids and labels. Today's assistant messages are copied into it, one row each.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COVERED = [
    "created_at",
    "kind",
    "price_source",
    "model_alias",
    "assistant_id",
    "assistant_label",
    "user_label",
    "input_tokens",
    "output_tokens",
    "cost_micros",
]


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "spend_ledger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tool", sa.String(32), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_label", sa.String(64), nullable=False, server_default=""),
        sa.Column("assistant_id", sa.Integer(), nullable=True),
        sa.Column("assistant_label", sa.String(100), nullable=False, server_default=""),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("conversation_label", sa.String(200), nullable=False, server_default=""),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("model_alias", sa.String(100), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cached_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("price_source", sa.String(16), nullable=False, server_default="usage"),
        sa.Column("dedupe_key", sa.String(120), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_ledger_dedupe"),
    )
    # Covering indexes: a user's figures and budget, and the team's, are index-only scans.
    op.create_index("ix_ledger_user_time", "spend_ledger", ["user_id", *COVERED])
    op.create_index("ix_ledger_team_time", "spend_ledger", [*COVERED, "user_id"])
    op.create_index(
        "ix_ledger_assistant_time", "spend_ledger", ["assistant_id", "created_at", "cost_micros"]
    )
    op.create_index("ix_ledger_conversation", "spend_ledger", ["conversation_id", "cost_micros"])
    op.create_table(
        "spend_reservation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assistant_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("settled_at", _timestamp(), nullable=True),
        sa.Column("expires_at", _timestamp(), nullable=False),
    )
    op.create_index(
        "ix_reservation_user", "spend_reservation", ["user_id", "settled_at", "created_at"]
    )
    op.create_index("ix_reservation_assistant", "spend_reservation", ["assistant_id", "settled_at"])
    op.create_index("ix_spend_reservation_message_id", "spend_reservation", ["message_id"])
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("max_concurrent_replies", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sends_per_minute", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("cost_cap_micros", sa.BigInteger(), nullable=True))
    _backfill()


def _backfill() -> None:
    """One `reply` row per assistant message that has tokens or a cost, as it stands today."""
    op.execute(
        """
        INSERT INTO spend_ledger (
            created_at, kind, quantity, user_id, user_label, assistant_id, assistant_label,
            conversation_id, conversation_label, message_id, model, model_alias,
            input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_micros,
            price_source
        )
        SELECT m.created_at, 'reply', 0, c.owner_id, COALESCE(u.username, ''),
            c.assistant_id, COALESCE(a.name, ''), c.id, COALESCE(c.title, ''), m.id,
            m.model, m.model, m.input_tokens, m.cached_tokens, m.output_tokens,
            m.reasoning_tokens, COALESCE(m.cost_micros, 0),
            CASE WHEN m.cost_micros IS NULL THEN 'unpriced' ELSE 'backfill' END
        FROM conversation_message m
        JOIN conversation c ON c.id = m.conversation_id
        LEFT JOIN user u ON u.id = c.owner_id
        LEFT JOIN assistant a ON a.id = c.assistant_id
        WHERE m.role = 'assistant'
          AND (m.cost_micros IS NOT NULL OR m.input_tokens + m.output_tokens > 0)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("cost_cap_micros")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("sends_per_minute")
        batch.drop_column("max_concurrent_replies")
    op.drop_table("spend_reservation")
    op.drop_table("spend_ledger")
