"""Groups of users: a monthly budget, the models they may use, assistants shared with them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import json_field, timestamp_field


class MembershipSource(StrEnum):
    """How a user joined a group: added by an admin, or from the SSO groups claim."""

    manual = "manual"
    sso = "sso"


class Group(SQLModel, table=True):
    """A team inside the team. The SSO groups claim maps onto groups by `name`."""

    __tablename__ = "user_group"  # `group` is a reserved word in SQL

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    monthly_budget_micros: int | None = Field(default=None)
    # Model ids (or catalog aliases) members may use; empty = every model.
    allowed_models: list[str] = json_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class GroupMember(SQLModel, table=True):
    """One user in one group."""

    __tablename__ = "group_member"

    group_id: int = Field(foreign_key="user_group.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")
    source: MembershipSource = Field(default=MembershipSource.manual, max_length=8)
    created_at: datetime = timestamp_field()


class AssistantGroup(SQLModel, table=True):
    """A shared assistant limited to chosen groups (no rows: shared with the whole team)."""

    __tablename__ = "assistant_group"

    assistant_id: int = Field(foreign_key="assistant.id", primary_key=True, ondelete="CASCADE")
    group_id: int = Field(
        foreign_key="user_group.id", primary_key=True, index=True, ondelete="CASCADE"
    )
