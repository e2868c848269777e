"""Share links: a read-only snapshot of a conversation, opened with an unguessable token."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import json_field, timestamp_field


class ShareLink(SQLModel, table=True):
    """A snapshot taken when shared; only the SHA-256 of its token is kept.

    `conversation_id` and `assistant_id` are plain ids (no foreign keys): the snapshot is a
    copy and outlives edits. `file_ids` are the stored files the snapshot may serve.
    """

    __tablename__ = "share_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    conversation_id: int | None = Field(default=None, index=True)
    assistant_id: int | None = Field(default=None)
    title: str = Field(default="", max_length=200)
    assistant_name: str = Field(default="", max_length=200)
    public: bool = Field(default=False)
    messages: list[dict] = json_field()
    file_ids: list[str] = json_field()
    created_at: datetime = timestamp_field()
