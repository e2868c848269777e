"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlmodel import Field


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (SQLModel stores it as UTC)."""
    return datetime.now(UTC)


# TEXT holds 64 KB on MySQL; message bodies and instructions can be longer.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def text_field(default: str = "", **kwargs: Any) -> Any:
    """A long text column (never the default VARCHAR(255))."""
    return Field(default=default, sa_type=LongText, **kwargs)


def json_field(default_factory: Any = list) -> Any:
    """A JSON column holding a list or dict."""
    return Field(default_factory=default_factory, sa_type=sa.JSON)


def created_field() -> Any:
    """A creation timestamp (UTC)."""
    return Field(default_factory=utcnow, nullable=False)
