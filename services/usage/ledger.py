"""Writing the spend ledger: who, what and how much for each billable event.

Rows carry plain ids and labels, so they outlive the conversation, assistant or account they
name. Helpers here take the caller's session: a row is appended in the same transaction that
settles the call's reservation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from models import Assistant, Conversation, PriceSource, SpendEntry, SpendKind, User, utcnow
from services.llm.base import Usage
from services.llm.catalog import ModelInfo, ToolPrices
from services.usage.pricing import TOOL_USAGE_FIELDS, token_cost_micros, tool_cost_micros

DELETED_USER = "Deleted user"


@dataclass(frozen=True)
class Party:
    """Whom a billable event belongs to, with the labels kept after deletion."""

    user_id: int
    user_label: str
    assistant_id: int | None = None
    assistant_label: str = ""
    conversation_id: int | None = None
    conversation_label: str = ""

    @classmethod
    def of(
        cls, user: User, assistant: Assistant | None, conversation: Conversation | None = None
    ) -> Party:
        """The party of a call made by `user` with `assistant` in `conversation`."""
        return cls(
            user_id=user.id,
            user_label=user.username,
            assistant_id=assistant.id if assistant else None,
            assistant_label=assistant.name if assistant else "",
            conversation_id=conversation.id if conversation else None,
            conversation_label=conversation.title if conversation else "",
        )


@dataclass(frozen=True)
class Call:
    """What one model call used, as billed."""

    kind: SpendKind
    model_alias: str
    billed_model: str | None
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    tool_calls: tuple[tuple[str, int], ...] = ()
    estimated: bool = False
    message_id: int | None = None

    @classmethod
    def from_usage(
        cls, kind: SpendKind, alias: str, billed: str | None, usage: Usage, **extra: object
    ) -> Call:
        """A call from the usage the provider reported."""
        tools = tuple(
            (tool, getattr(usage, name))
            for tool, name in TOOL_USAGE_FIELDS.items()
            if getattr(usage, name, 0)
        )
        return cls(
            kind,
            alias,
            billed,
            usage.input_tokens,
            usage.cached_tokens,
            usage.output_tokens,
            usage.reasoning_tokens,
            tools,
            **extra,
        )


def entries_for(
    party: Party,
    call: Call,
    model: ModelInfo | None,
    tool_prices: ToolPrices,
    when: datetime | None = None,
) -> list[SpendEntry]:
    """The ledger rows of one call: its tokens, then one row per tool kind used."""
    when = when or utcnow()
    token_cost = token_cost_micros(call.input_tokens, call.cached_tokens, call.output_tokens, model)
    source = (
        PriceSource.unpriced
        if token_cost is None
        else PriceSource.estimate
        if call.estimated
        else PriceSource.usage
    )
    common = dict(
        created_at=when,
        user_id=party.user_id,
        user_label=party.user_label,
        assistant_id=party.assistant_id,
        assistant_label=party.assistant_label,
        conversation_id=party.conversation_id,
        conversation_label=party.conversation_label[:200],
        message_id=call.message_id,
        model=call.billed_model or call.model_alias,
        model_alias=call.model_alias,
    )
    rows = [
        SpendEntry(
            kind=call.kind,
            input_tokens=call.input_tokens,
            cached_tokens=call.cached_tokens,
            output_tokens=call.output_tokens,
            reasoning_tokens=call.reasoning_tokens,
            cost_micros=token_cost or 0,
            price_source=source,
            **common,
        )
    ]
    for tool, count in call.tool_calls:
        rows.append(
            SpendEntry(
                kind=SpendKind.tool,
                tool=tool,
                quantity=count,
                cost_micros=tool_cost_micros(tool, count, tool_prices),
                price_source=PriceSource.usage,
                **common,
            )
        )
    return rows


def total_micros(rows: list[SpendEntry]) -> int:
    """What a set of rows bills, in micro-dollars."""
    return sum(row.cost_micros for row in rows)


def anonymize_user(session: Session, user_id: int) -> None:
    """A deleted account's spend stays counted, but no longer names the person."""
    session.execute(
        sa.update(SpendEntry)
        .where(SpendEntry.user_id == user_id)
        .values(user_id=None, user_label=DELETED_USER, conversation_label="")
    )
