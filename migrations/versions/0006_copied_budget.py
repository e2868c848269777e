"""Duplicated assistants: who may change a budget copied at duplication

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:20:00

`assistant.budget_owner_id` is the owner of the original whose budget a duplicate copied: only
that user or an admin may change the copy's budget. A plain id (no foreign key), like the
ledger's, so it outlives the original. Existing rows get NULL: their owner decides.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assistant") as batch:
        batch.add_column(sa.Column("budget_owner_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assistant") as batch:
        batch.drop_column("budget_owner_id")
