"""Folders: a user's named groups of conversations (a conversation is in one or none)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class Folder(SQLModel, table=True):
    """One user's folder; deleting it moves its conversations out, never deletes them."""

    __table_args__ = (sa.Index("ix_folder_owner_name", "owner_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id")
    name: str = Field(max_length=100)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
