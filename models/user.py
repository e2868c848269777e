"""User accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import optional_time_field, timestamp_field


class Role(StrEnum):
    """What a user may do: members use the app, admins also manage it."""

    member = "member"
    admin = "admin"


class User(SQLModel, table=True):
    """A person who signs in. `username` is stored lower-case (case-insensitive unique)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True, index=True)
    email: str | None = Field(default=None, max_length=254, index=True)
    password_hash: str = Field(max_length=255)
    role: Role = Field(default=Role.member, max_length=16)
    token_version: int = Field(default=0)
    is_active: bool = Field(default=True)
    monthly_budget_micros: int | None = Field(default=None)
    # Per-user overrides of MAX_CONCURRENT_REPLIES and SENDS_PER_MINUTE (None: the setting).
    max_concurrent_replies: int | None = Field(default=None)
    sends_per_minute: int | None = Field(default=None)
    theme: str = Field(default="auto", max_length=8)
    last_active_at: datetime | None = optional_time_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
