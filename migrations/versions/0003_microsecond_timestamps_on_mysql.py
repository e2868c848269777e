"""Microsecond timestamps on MySQL/MariaDB (plain DATETIME keeps whole seconds)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:55:11

Messages and files created within one second must keep their order by time; SQLite already
stores microseconds, so this only changes MySQL/MariaDB.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable)
TIMESTAMP_COLUMNS = (
    ("app_setting", "updated_at", False),
    ("user", "last_active_at", True),
    ("user", "created_at", False),
    ("user", "updated_at", False),
    ("assistant", "last_used_at", True),
    ("assistant", "created_at", False),
    ("assistant", "updated_at", False),
    ("conversation", "created_at", False),
    ("conversation", "updated_at", False),
    ("conversation_message", "created_at", False),
    ("conversation_message", "updated_at", False),
    ("stored_file", "created_at", False),
    ("password_reset_token", "expires_at", False),
    ("password_reset_token", "used_at", True),
    ("password_reset_token", "created_at", False),
)


def _retype(fsp: int) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column, nullable in TIMESTAMP_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=mysql.DATETIME(fsp=fsp),
            existing_type=mysql.DATETIME(fsp=6 - fsp),
            existing_nullable=nullable,
        )


def upgrade() -> None:
    _retype(6)


def downgrade() -> None:
    _retype(0)
