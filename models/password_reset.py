"""Single-use password reset tokens (only a hash of the token is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import UTCTimestamp, optional_time_field, timestamp_field


class PasswordResetToken(SQLModel, table=True):
    """A reset link's token, stored as its SHA-256 hex digest; used once, then `used_at` is set."""

    __tablename__ = "password_reset_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCTimestamp)
    used_at: datetime | None = optional_time_field()
    created_at: datetime = timestamp_field()
