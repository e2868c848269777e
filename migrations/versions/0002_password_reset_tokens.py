"""password reset tokens, usage covering indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:19:08.877329
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('password_reset_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('password_reset_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_token_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('conversation_message', schema=None) as batch_op:
        batch_op.create_index('ix_message_usage', ['conversation_id', 'created_at', 'role', 'model', 'input_tokens', 'output_tokens', 'cost_micros'], unique=False)
        batch_op.create_index('ix_message_team_usage', ['created_at', 'role', 'model', 'input_tokens', 'output_tokens', 'cost_micros', 'conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation_message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_team_usage')
        batch_op.drop_index('ix_message_usage')

    # Dropping the table drops its indexes (MySQL refuses to drop the FK's index first).
    op.drop_table('password_reset_token')
