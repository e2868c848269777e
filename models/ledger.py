"""The spend ledger and budget reservations.

`SpendEntry` rows are append-only: one per billable event, with plain ids (no foreign keys)
and labels, so deleting a conversation, assistant or account never makes spend disappear.
`Reservation` rows hold a provider call's worst-case cost against the budgets while the call
runs; settling deletes the reservation and appends the real cost to the ledger.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCTimestamp, optional_time_field, timestamp_field


class SpendKind(StrEnum):
    """What a ledger row bills."""

    reply = "reply"
    retry = "retry"
    regenerate = "regenerate"
    edit = "edit"
    summary = "summary"
    title = "title"
    tool = "tool"
    storage = "storage"


class PriceSource(StrEnum):
    """Where a row's micro-dollars come from."""

    usage = "usage"  # provider-reported usage priced from the catalog
    estimate = "estimate"  # no usage reported (stopped, broken): tokens estimated locally
    unpriced = "unpriced"  # model not in the catalog: cost unknown, counted 0
    backfill = "backfill"  # copied from a message row by migration 0004


COVERED = (
    "created_at",
    "kind",
    "price_source",
    "model_alias",
    "assistant_id",
    "assistant_label",
    "user_label",
    "input_tokens",
    "output_tokens",
    "cost_micros",
)


class SpendEntry(SQLModel, table=True):
    """One billable event; never updated except to anonymize a deleted account."""

    __tablename__ = "spend_ledger"
    __table_args__ = (
        # Covering indexes: one user's figures and budget, and the team's, are index-only
        # scans (every column the aggregates read is in the index).
        sa.Index("ix_ledger_user_time", "user_id", *COVERED),
        sa.Index("ix_ledger_team_time", *COVERED, "user_id"),
        sa.Index("ix_ledger_assistant_time", "assistant_id", "created_at", "cost_micros"),
        sa.Index("ix_ledger_conversation", "conversation_id", "cost_micros"),
        # Storage days are billed once: (store, day) is unique among storage rows.
        sa.UniqueConstraint("dedupe_key", name="uq_ledger_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_field()
    kind: SpendKind = Field(max_length=16)
    tool: str | None = Field(default=None, max_length=32)
    quantity: int = Field(default=0)  # tool calls, or bytes stored for a storage day
    user_id: int | None = Field(default=None)
    user_label: str = Field(default="", max_length=64)
    assistant_id: int | None = Field(default=None)
    assistant_label: str = Field(default="", max_length=100)
    conversation_id: int | None = Field(default=None)
    conversation_label: str = Field(default="", max_length=200)
    message_id: int | None = Field(default=None)
    model: str | None = Field(default=None, max_length=100)
    model_alias: str | None = Field(default=None, max_length=100)
    input_tokens: int = Field(default=0)
    cached_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    reasoning_tokens: int = Field(default=0)
    cost_micros: int = Field(default=0)
    price_source: PriceSource = Field(default=PriceSource.usage, max_length=16)
    dedupe_key: str | None = Field(default=None, max_length=120)


class Reservation(SQLModel, table=True):
    """A call's worst case, held against the budgets until it is settled or released."""

    __tablename__ = "spend_reservation"
    __table_args__ = (
        sa.Index("ix_reservation_user", "user_id", "settled_at", "created_at"),
        sa.Index("ix_reservation_assistant", "assistant_id", "settled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    assistant_id: int | None = Field(default=None)
    conversation_id: int | None = Field(default=None)
    message_id: int | None = Field(default=None, index=True)
    kind: SpendKind = Field(max_length=16)
    amount_micros: int
    created_at: datetime = timestamp_field()
    settled_at: datetime | None = optional_time_field()  # kept a day: sends per minute
    expires_at: datetime = Field(sa_type=UTCTimestamp, nullable=False)
