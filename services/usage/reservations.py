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


def lock_budgets(session: Session, user_id: int, assistant_id: int | None) -> User:
    """Serialise reservations on these budgets until the transaction ends; the user as the
    database has it now (its budget and limits are read under the lock).

    A transaction that will reserve calls this before its first write: MariaDB's foreign-key
    checks take shared locks on the user and assistant rows, and two transactions upgrading
    those to exclusive ones deadlock. Taking the exclusive lock first avoids that. A second
    call in the same transaction (the reservation itself) costs no statement."""
    held = _locks_held(session)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if ("user", user_id) not in held:
        if sqlite:  # the database's write lock, taken by a no-op UPDATE, returning the row
            statement = sa.update(User).where(User.id == user_id).values(id=User.id).returning(User)
        else:
            statement = select(User).where(User.id == user_id).with_for_update()
        held["user", user_id] = session.scalars(
            statement, execution_options={"populate_existing": True}
        ).one()
    if not sqlite and ("groups", user_id) not in held:  # by id: the order every send locks in
        groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
        held["groups", user_id] = session.scalars(
            select(Group.id).where(Group.id.in_(groups)).order_by(Group.id).with_for_update()
        ).all()
    if assistant_id is not None and ("assistant", assistant_id) not in held and not sqlite:
        held["assistant", assistant_id] = session.scalars(
            select(Assistant).where(Assistant.id == assistant_id).with_for_update(),
            execution_options={"populate_existing": True},
        ).one_or_none()
    return held["user", user_id]


def budgeted_id(assistant: Assistant | None) -> int | None:
    """The assistant whose row `lock_budgets` should lock: only one with a budget of its own.

    Locking an unbudgeted assistant protects nothing, and a shared assistant's row lock made
    every user's send wait for the one before (MariaDB, docs/performance.md "Scale-out")."""
    if assistant is None or assistant.monthly_budget_micros is None:
        return None
    return assistant.id


_LOCKS = "budget_locks"


def _locks_held(session: Session) -> dict[tuple[str, int], object]:
    """The rows this session's current transaction has locked (a new transaction: none)."""
    transaction = session.get_transaction()
    owner, held = session.info.get(_LOCKS, (None, {}))
    if owner is not transaction:
        owner, held = transaction, {}
        session.info[_LOCKS] = (owner, held)
    return held


def _current_assistant(session: Session, assistant: Assistant | None) -> Assistant | None:
    """The assistant's budget as committed now: MariaDB read a budgeted one with the lock; on
    SQLite (one writer at a time) only a budgeted assistant is read again (an unbudgeted one
    is taken as the caller read it)."""
    if assistant is None:
        return None
    locked = _locks_held(session).get(("assistant", assistant.id))
    if locked is not None:
        return locked
    if assistant.monthly_budget_micros is None:
        return assistant
    return session.get(Assistant, assistant.id, populate_existing=True)


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
    message_id: int | None = None,
) -> Hold:
    """Hold `amount_micros` (None: price unknown) for one call, or refuse before it is made.

    Every figure checked (replies running, sends this minute, each budget's spend and
    holds, the conversation's cap) is read in one statement after the lock.
    Raises BudgetExceeded naming the budget, what is left and when it resets, or
    RateLimited when the user's reply limits are reached.
    """
    now = now or datetime.now(UTC)
    fresh = lock_budgets(session, user.id, budgeted_id(assistant))
    applicable = budgets.applicable(session, fresh, _current_assistant(session, assistant))
    capped = conversation is not None and conversation.cost_cap_micros is not None
    queries: dict[str, sa.Select] = {}
    if kind in REPLY_KINDS:
        queries |= _limit_queries(fresh, now)
    for index, budget in enumerate(applicable):
        queries[f"spent{index}"] = budgets.spent_query(budget, now)
        queries[f"held{index}"] = budgets.reserved_query(budget, now)
    if capped:
        queries |= _cap_queries(conversation, now)
    figures = _read_latest(session, queries)
    if kind in REPLY_KINDS:
        _check_limits(fresh, figures)
        refusal = budgets.model_refusal(session, fresh.id, model)
        if refusal:
            raise ModelNotAllowed(refusal)
    warning = None
    for index, budget in enumerate(applicable):
        if amount_micros is None:
            raise BudgetExceeded(budgets.unpriced_refusal(model))
        spent = figures[f"spent{index}"]
        reason = budgets.refusal(budget, spent + figures[f"held{index}"], amount_micros, now)
        if reason:
            raise BudgetExceeded(reason)
        warning = warning or budgets.warning(budget, spent)
    if capped:
        _check_conversation_cap(conversation, figures, amount_micros)
    reservation = Reservation(
        user_id=user.id,
        assistant_id=assistant.id if assistant else None,
        conversation_id=conversation.id if conversation else None,
        message_id=message_id,
        kind=kind,
        amount_micros=max(amount_micros or 0, 0),
        created_at=now,
        expires_at=now + RESERVATION_LIFETIME,
    )
    session.add(reservation)
    session.flush()
    return Hold(reservation.id, warning)


def _read_latest(session: Session, queries: dict[str, sa.Select]) -> dict[str, int]:
    """Each query's integer, in one statement. Each part is a locking read, so MariaDB
    answers from the latest committed rows, not the transaction's snapshot (SQLite, whose
    single writer lock is held, renders no locking clause)."""
    if not queries:
        return {}
    parts = [q.with_for_update(read=True).scalar_subquery().label(k) for k, q in queries.items()]
    row = session.execute(sa.select(*parts)).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


def _limit_queries(user: User, now: datetime) -> dict[str, sa.Select]:
    mine = (Reservation.user_id == user.id, Reservation.kind.in_(REPLY_KINDS))
    count = sa.func.count(Reservation.id)
    return {
        "running": select(count).where(
            *mine, Reservation.settled_at.is_(None), Reservation.expires_at > now
        ),
        "recent": select(count).where(*mine, Reservation.created_at > now - timedelta(minutes=1)),
    }


def _check_limits(user: User, figures: dict[str, int]) -> None:
    settings = get_settings()
    concurrent = user.max_concurrent_replies or settings.max_concurrent_replies
    per_minute = user.sends_per_minute or settings.sends_per_minute
    running, recent = figures["running"], figures["recent"]
    if running >= concurrent:
        raise RateLimited(
            f"You already have {running} replies being written (the limit is {concurrent}). "
            "Wait for one to finish, or stop it, then send again."
        )
    if recent >= per_minute:
        raise RateLimited(
            f"You sent {recent} messages in the last minute (the limit is {per_minute}). "
            "Wait a moment, then send again."
        )


def _cap_queries(conversation: Conversation, now: datetime) -> dict[str, sa.Select]:
    return {
        "conversation_spent": select(
            sa.func.coalesce(sa.func.sum(SpendEntry.cost_micros), 0)
        ).where(SpendEntry.conversation_id == conversation.id),
        "conversation_held": select(
            sa.func.coalesce(sa.func.sum(Reservation.amount_micros), 0)
        ).where(
            Reservation.conversation_id == conversation.id,
            Reservation.settled_at.is_(None),
            Reservation.expires_at > now,
        ),
    }


def _check_conversation_cap(
    conversation: Conversation, figures: dict[str, int], amount: int | None
) -> None:
    spent, held = figures["conversation_spent"], figures["conversation_held"]
    cap = conversation.cost_cap_micros or 0
    if amount is None or spent + held + amount > cap:
        raise BudgetExceeded(
            f"This conversation's cap of {format_usd(cap)} would be passed: "
            f"{format_usd(max(cap - spent - held, 0))} left, and this message could "
            f"cost up to {format_usd(amount)}. Raise the cap or start a new chat."
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
