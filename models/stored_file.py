"""Files and images kept for assistants and conversations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import uuid4

from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class FilePurpose(StrEnum):
    """Why a file is stored."""

    knowledge = "knowledge"
    attachment = "attachment"
    image = "image"
    generated = "generated"


class FileStatus(StrEnum):
    """Upstream processing state."""

    uploading = "uploading"
    processing = "processing"
    ready = "ready"
    failed = "failed"


def new_file_id() -> str:
    """An unguessable id used in file URLs."""
    return uuid4().hex


class StoredFile(SQLModel, table=True):
    """A file we keep (bytes on disk under DATA_DIR, maybe a copy upstream)."""

    __tablename__ = "stored_file"

    id: str = Field(default_factory=new_file_id, primary_key=True, max_length=32)
    owner_id: int = Field(foreign_key="user.id", index=True)
    provider_file_id: str | None = Field(default=None, max_length=100)
    name: str = Field(max_length=255)
    size: int = Field(default=0)
    mime: str = Field(default="application/octet-stream", max_length=100)
    purpose: FilePurpose = Field(max_length=16)
    status: FileStatus = Field(default=FileStatus.uploading, max_length=16)
    error: str | None = Field(default=None, max_length=500)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    storage_path: str | None = Field(default=None, max_length=500)
    thumbnail_path: str | None = Field(default=None, max_length=500)
    assistant_id: int | None = Field(default=None, foreign_key="assistant.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    message_id: int | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()
