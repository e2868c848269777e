"""The prompt library: personal prompts and team prompts curated by admins."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import text_field, timestamp_field


class Prompt(SQLModel, table=True):
    """A reusable prompt with `{{variables}}`; `team` prompts are shown to everyone."""

    __table_args__ = (sa.Index("ix_prompt_owner_team", "owner_id", "team"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id")
    team: bool = Field(default=False, index=True)
    title: str = Field(max_length=100)
    body: str = text_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
