"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine
from sqlmodel import Field
from sqlmodel.sql.sqltypes import UTCDateTime


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (SQLModel stores it as UTC)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` timezone-aware: a naive one (SQLite returns them) is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# TEXT holds 64 KB on MySQL; message bodies and instructions can be longer.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def text_field(default: str = "", **kwargs: Any) -> Any:
    """A long text column (never the default VARCHAR(255))."""
    return Field(default=default, sa_type=LongText, **kwargs)


def json_field(default_factory: Any = list) -> Any:
    """A JSON column holding a list or dict."""
    return Field(default_factory=default_factory, sa_type=sa.JSON)


class UTCTimestamp(UTCDateTime):
    """A UTC datetime kept to the microsecond everywhere (MySQL's plain DATETIME drops them)."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return super().load_dialect_impl(dialect)


def timestamp_field(index: bool = False) -> Any:
    """A timestamp that defaults to now (UTC, microseconds)."""
    return Field(default_factory=utcnow, nullable=False, index=index, sa_type=UTCTimestamp)


def optional_time_field() -> Any:
    """A timestamp that may be empty (UTC, microseconds)."""
    return Field(default=None, sa_type=UTCTimestamp)
