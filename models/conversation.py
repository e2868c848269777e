"""Conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import json_field, text_field, timestamp_field


class MessageRole(StrEnum):
    """Who wrote a message."""

    user = "user"
    assistant = "assistant"


class MessageStatus(StrEnum):
    """Life cycle of a message; user messages are always complete."""

    streaming = "streaming"
    complete = "complete"
    stopped = "stopped"
    failed = "failed"
    incomplete = "incomplete"  # the provider cut it short (length limit, content filter)
    refused = "refused"  # the model declined to answer


class Conversation(SQLModel, table=True):
    """A thread between a user and one assistant; `parent_id` links a continuation and
    `active_message_id` is the leaf of the branch on show."""

    __table_args__ = (sa.Index("ix_conversation_owner_updated", "owner_id", "updated_at"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id")
    assistant_id: int | None = Field(default=None, foreign_key="assistant.id", index=True)
    title: str = Field(default="New chat", max_length=200)
    # Who wrote the title: "message" (the first message), "model" (TITLE_MODEL) or "user".
    title_source: str = Field(default="message", max_length=8)
    parent_id: int | None = Field(default=None, foreign_key="conversation.id")
    continued_by_id: int | None = Field(default=None)
    summary: str = text_field()
    vector_store_id: str | None = Field(default=None, max_length=100)
    message_count: int = Field(default=0)
    input_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    cost_micros: int = Field(default=0)
    cost_cap_micros: int | None = Field(default=None)  # optional dollar cap per conversation
    # The leaf of the branch shown and continued (messages form a tree through `parent_id`).
    active_message_id: int | None = Field(default=None)
    # Organizing (migration 0009). `folder_id` is a plain id, no foreign key: adding one would
    # make SQLite rebuild the table (and drop the search triggers); folders.py keeps it sound.
    folder_id: int | None = Field(default=None, index=True)
    pinned: bool = Field(default=False)
    archived: bool = Field(default=False)
    temporary: bool = Field(default=False)  # never listed or searched; purged after a while
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ConversationMessage(SQLModel, table=True):
    """One message with its status, usage and cost (integer micro-dollars); a node of the
    conversation's message tree (see `services.chat.tree`)."""

    __tablename__ = "conversation_message"
    __table_args__ = (
        sa.Index("ix_message_conversation_id", "conversation_id", "id"),
        # Cover the usage aggregates (dashboard, budgets): index-only scans per conversation.
        sa.Index(
            "ix_message_usage",
            "conversation_id",
            "created_at",
            "role",
            "model",
            "input_tokens",
            "output_tokens",
            "cost_micros",
        ),
        # The same for the team-wide aggregates, which filter on time only.
        sa.Index(
            "ix_message_team_usage",
            "created_at",
            "role",
            "model",
            "input_tokens",
            "output_tokens",
            "cost_micros",
            "conversation_id",
        ),
        # The liveness sweep finds the replies still streaming, and whose instance writes them.
        sa.Index("ix_message_status_instance", "status", "instance_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    # The message this one answers or follows (None for a first message): siblings share it.
    parent_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("conversation_message.id", ondelete="SET NULL"),
            index=True,
            nullable=True,
        ),
    )
    role: MessageRole = Field(max_length=16)
    content: str = text_field()
    status: MessageStatus = Field(default=MessageStatus.complete, max_length=16)
    error: str | None = Field(default=None, sa_type=sa.Text)
    error_category: str | None = Field(default=None, max_length=32)
    attachments: list[dict] = json_field()
    citations: list[dict] = json_field()
    input_tokens: int = Field(default=0)
    cached_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    reasoning_tokens: int = Field(default=0)
    cache_write_tokens: int = Field(default=0)
    reasoning_summary: str = text_field()
    tool_calls: dict = json_field(dict)
    cost_micros: int | None = Field(default=None)
    model: str | None = Field(default=None, max_length=100)
    provider_response_id: str | None = Field(default=None, max_length=100)
    # The instance (models.instance.Instance) writing a streaming reply; NULL before 0013.
    instance_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = timestamp_field(index=True)
    updated_at: datetime = timestamp_field()
