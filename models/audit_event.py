"""The audit log: who did what, when, from where (never a secret)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import json_field, timestamp_field


class AuditEvent(SQLModel, table=True):
    """One security-relevant event. Ids are plain (no foreign keys) so rows outlive accounts."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_field(index=True)
    action: str = Field(max_length=64, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(default="", max_length=64)
    target: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=64)
    details: dict = json_field(dict)
