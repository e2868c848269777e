"""Conversation titles: who wrote them

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 01:20:00

`conversation.title_source` is "message" (named after the first message), "model"
(`TITLE_MODEL` named it after the first exchange) or "user" (renamed): a model title is
written only over a "message" one, so a title the user set always wins. Existing rows get
"message"; they are past their first exchange, so no model renames them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(
            sa.Column(
                "title_source", sa.String(length=8), nullable=False, server_default="message"
            )
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would re-create the table, which fails
    # while foreign keys are enforced and messages point at it.
    op.drop_column("conversation", "title_source")
