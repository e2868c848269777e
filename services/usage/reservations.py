"""Reservations: a call's worst case is held against every budget before it starts.

`reserve` runs inside the caller's transaction (a send's single one). It first locks the
rows that stand for the budgets, so two reservations against one budget never interleave:
on MariaDB `SELECT ... FOR UPDATE` on the user row, the rows of the user's groups (by id)
and the assistant row, always in that order; on SQLite, which has one
writer at a time, a no-op UPDATE takes the database's write lock at once (what BEGIN
IMMEDIATE would do). The used amounts are then read fresh, the call refused if it does not
fit, and the reservation inserted before the lock is released at commit. `settle` closes it
and appends the real cost to the ledger in one transaction; `release` closes it unbilled.

Per-user limits (replies streaming at once, sends per minute) are counted here too, from the
same rows and under the same lock, so they also hold across instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from core.errors import BudgetExceeded, ModelNotAllowed, RateLimited
from models import (
    Assistant,
    Conversation,
    Group,
    GroupMember,
    Reservation,
    SpendEntry,
    SpendKind,
    User,
)
from services.usage import budgets
from services.usage.pricing import format_usd

# A reply still running after this long no longer holds budget (a crashed instance's calls
# stop counting); it is far beyond any timeout a reply can reach.
RESERVATION_LIFETIME = timedelta(minutes=30)
# Settled reservations are kept this long so sends per minute can be counted from them.
KEEP_SETTLED = timedelta(days=1)
REPLY_KINDS = (SpendKind.reply, SpendKind.retry, SpendKind.regenerate, SpendKind.edit)


def lock_budgets(session: Session, user_id: int, assistant_id: int | None) -> None:
    """Serialise reservations on these budgets until the transaction ends.

    A transaction that will reserve calls this before its first write: MariaDB's foreign-key
    checks take shared locks on the user and assistant rows, and two transactions upgrading
    those to exclusive ones deadlock. Taking the exclusive lock first avoids that."""
    if session.get_bind().dialect.name == "sqlite":
        table = User.__table__
        session.execute(sa.update(table).where(table.c.id == user_id).values(id=table.c.id))
        return
    session.execute(select(User.id).where(User.id == user_id).with_for_update())
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    session.execute(
        select(Group.id).where(Group.id.in_(groups)).order_by(Group.id).with_for_update()
    )
    if assistant_id is not None:
        session.execute(select(Assistant.id).where(Assistant.id == assistant_id).with_for_update())


@dataclass(frozen=True)
class Hold:
    """A reservation made: its id, and a warning once a budget is 80 % used."""

    id: int
    warning: str | None


def reserve(
    session: Session,
    user: User,
    assistant: Assistant | None,
    conversation: Conversation | None,
    amount_micros: int | None,
    kind: SpendKind,
    model: str,
    now: datetime | None = None,
) -> Hold:
    """Hold `amount_micros` (None: price unknown) for one call, or refuse before it is made.

    Raises BudgetExceeded naming the budget, what is left and when it resets, or
    RateLimited when the user's reply limits are reached.
    """
    now = now or datetime.now(UTC)
    lock_budgets(session, user.id, assistant.id if assistant else None)
    fresh = session.get(User, user.id, populate_existing=True) or user
    if kind in REPLY_KINDS:
        _check_limits(session, fresh, now)
        refusal = budgets.model_refusal(session, fresh.id, model)
        if refusal:
            raise ModelNotAllowed(refusal)
    current = session.get(Assistant, assistant.id, populate_existing=True) if assistant else None
    warning = None
    for budget in budgets.applicable(session, fresh, current):
        if amount_micros is None:
            raise BudgetExceeded(budgets.unpriced_refusal(model))
        spent = budgets.spent_micros(session, budget, now, locking=True)
        used = spent + budgets.reserved_micros(session, budget, now, locking=True)
        reason = budgets.refusal(budget, used, amount_micros, now)
        if reason:
            raise BudgetExceeded(reason)
        warning = warning or budgets.warning(budget, spent)
    if conversation is not None and conversation.cost_cap_micros is not None:
        _check_conversation_cap(session, conversation, amount_micros, now)
    reservation = Reservation(
        user_id=user.id,
        assistant_id=assistant.id if assistant else None,
        conversation_id=conversation.id if conversation else None,
        kind=kind,
        amount_micros=max(amount_micros or 0, 0),
        created_at=now,
        expires_at=now + RESERVATION_LIFETIME,
    )
    session.add(reservation)
    session.flush()
    return Hold(reservation.id, warning)


def _check_limits(session: Session, user: User, now: datetime) -> None:
    settings = get_settings()
    concurrent = user.max_concurrent_replies or settings.max_concurrent_replies
    per_minute = user.sends_per_minute or settings.sends_per_minute
    mine = (Reservation.user_id == user.id, Reservation.kind.in_(REPLY_KINDS))
    running = session.exec(
        select(sa.func.count(Reservation.id)).where(
            *mine, Reservation.settled_at.is_(None), Reservation.expires_at > now
        )
    ).one()
    if running >= concurrent:
        raise RateLimited(
            f"You already have {running} replies being written (the limit is {concurrent}). "
            "Wait for one to finish, or stop it, then send again."
        )
    recent = session.exec(
        select(sa.func.count(Reservation.id)).where(
            *mine, Reservation.created_at > now - timedelta(minutes=1)
        )
    ).one()
    if recent >= per_minute:
        raise RateLimited(
            f"You sent {recent} messages in the last minute (the limit is {per_minute}). "
            "Wait a moment, then send again."
        )


def _check_conversation_cap(
    session: Session, conversation: Conversation, amount: int | None, now: datetime
) -> None:
    spent = session.exec(
        select(sa.func.coalesce(sa.func.sum(SpendEntry.cost_micros), 0)).where(
            SpendEntry.conversation_id == conversation.id
        )
    ).one()
    held = session.exec(
        select(sa.func.coalesce(sa.func.sum(Reservation.amount_micros), 0)).where(
            Reservation.conversation_id == conversation.id,
            Reservation.settled_at.is_(None),
            Reservation.expires_at > now,
        )
    ).one()
    cap = conversation.cost_cap_micros or 0
    if amount is None or int(spent) + int(held) + amount > cap:
        raise BudgetExceeded(
            f"This conversation's cap of {format_usd(cap)} would be passed: "
            f"{format_usd(max(cap - int(spent) - int(held), 0))} left, and this message could "
            f"cost up to {format_usd(amount)}. Raise the cap or start a new chat."
        )


def attach_message(session: Session, reservation_id: int, message_id: int) -> None:
    """Remember which reply a reservation is for (start-up recovery releases it)."""
    session.execute(
        sa.update(Reservation).where(Reservation.id == reservation_id).values(message_id=message_id)
    )


def settle(session: Session, reservation_id: int | None, rows: list[SpendEntry]) -> None:
    """Close the reservation and append what the call really cost, in the caller's
    transaction. Ledger rows go first (MariaDB lock order: see the module docstring)."""
    for row in rows:
        session.add(row)
    session.flush()
    release(session, reservation_id)


def release(session: Session, reservation_id: int | None) -> None:
    """Close a reservation without billing (the call never reached the provider)."""
    if reservation_id is None:
        return
    session.execute(
        sa.update(Reservation)
        .where(Reservation.id == reservation_id, Reservation.settled_at.is_(None))
        .values(settled_at=datetime.now(UTC))
    )


def release_for_messages(session: Session, message_ids: sa.Select) -> None:
    """Close the reservations of replies that will never finish (start-up recovery)."""
    session.execute(
        sa.update(Reservation)
        .where(Reservation.message_id.in_(message_ids), Reservation.settled_at.is_(None))
        .values(settled_at=datetime.now(UTC))
    )


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget reservations settled over a day ago; returns how many."""
    cutoff = (now or datetime.now(UTC)) - KEEP_SETTLED
    result = session.execute(
        sa.delete(Reservation).where(
            sa.or_(Reservation.settled_at < cutoff, Reservation.expires_at < cutoff)
        )
    )
    return result.rowcount or 0
