"""Team-wide settings changed from the admin page, and one-time claims."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class AppSetting(SQLModel, table=True):
    """A key/value pair; the primary key also serves as a race-free claim (first admin)."""

    __tablename__ = "app_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", max_length=255)
    updated_at: datetime = timestamp_field()
