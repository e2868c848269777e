"""Assistants: a stored configuration used with the Responses API."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import json_field, optional_time_field, text_field, timestamp_field

TOOL_NAMES = ("web_search", "file_search", "code_interpreter")


class Assistant(SQLModel, table=True):
    """Instructions, model and tools chosen by its owner; optionally shared with the team."""

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    description: str = text_field()
    instructions: str = text_field()
    model: str = Field(max_length=100)
    temperature: float | None = Field(default=None)
    top_p: float | None = Field(default=None)
    reasoning_effort: str | None = Field(default=None, max_length=16)
    tools: list[str] = json_field()
    vector_store_id: str | None = Field(default=None, max_length=100)
    shared: bool = Field(default=False, index=True)
    monthly_budget_micros: int | None = Field(default=None)
    # Set on a duplicate that copied a budget: the original's owner, who (or an admin) alone
    # may change it, so duplicating never escapes a shared assistant's cap.
    budget_owner_id: int | None = Field(default=None)
    last_used_at: datetime | None = optional_time_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
