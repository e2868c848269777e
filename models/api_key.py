"""Personal API keys: a bearer secret for scripts and IDE tools, stored only as a hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import optional_time_field, timestamp_field


class KeyScope(StrEnum):
    """What a key may do: `chat` sends messages and changes things, `read` only reads."""

    chat = "chat"
    read = "read"


class ApiKey(SQLModel, table=True):
    """One personal key. `key_hash` is the SHA-256 hex digest of the whole key (it has
    high entropy, so no salt or slow hash is needed); `prefix` is its visible start."""

    __tablename__ = "api_key"
    __table_args__ = (sa.Index("ix_api_key_user", "user_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scope: KeyScope = Field(default=KeyScope.chat, max_length=8)
    expires_at: datetime | None = optional_time_field()
    last_used_at: datetime | None = optional_time_field()
    revoked_at: datetime | None = optional_time_field()
    created_at: datetime = timestamp_field()
