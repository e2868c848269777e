"""Thumbs up or down (with an optional comment) on an assistant's answer."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import LongText, timestamp_field


class AnswerFeedback(SQLModel, table=True):
    """One user's rating of one answer: +1 or -1, changeable, at most one per user and answer.

    `conversation_id` and `assistant_id` are copied from the message so the assistant's page
    and the dashboard count ratings without joining the messages (plain ids, like the ledger's).
    """

    __tablename__ = "answer_feedback"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "user_id", name="uq_answer_feedback_message_user"),
        sa.Index("ix_answer_feedback_assistant_updated", "assistant_id", "updated_at"),
        sa.Index("ix_answer_feedback_conversation", "conversation_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(index=True)
    user_id: int = Field(index=True)
    conversation_id: int
    assistant_id: int | None = None
    rating: int  # +1 thumbs up, -1 thumbs down
    comment: str | None = Field(default=None, sa_type=LongText)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
