"""Which monthly budgets apply to a call, how much of each is used, and what a refusal says.

Used = this calendar month's ledger rows (UTC) plus the reservations still open. The user's
budget covers their own spend with every assistant; an assistant's budget (optional) covers
everyone's spend with it; a group's budget (optional) covers the spend of the group's members,
and a user in several groups is checked against each.
Helpers take the caller's session. A reservation reads the same queries under shared locks
(`reservations`), so that on MariaDB it sees the latest committed rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from models import Assistant, Group, GroupMember, Reservation, SpendEntry, User
from services.usage.pricing import MICROS_PER_USD, format_usd


@dataclass(frozen=True)
class Budget:
    """One monthly budget: whose it is, its limit and who can raise it."""

    scope: str  # "user", "assistant" or "group"
    scope_id: int
    limit_micros: int
    name: str  # how a message names it
    raiser: str  # who can raise it


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC on the first day of the month containing `now`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after the one starting at `start`."""
    return (start + timedelta(days=32)).replace(day=1)


def default_budget_micros() -> int | None:
    """The team default monthly budget from settings (None = unlimited)."""
    usd = get_settings().default_monthly_budget_usd
    return None if usd is None else round(usd * MICROS_PER_USD)


def user_budget_micros(user: User) -> int | None:
    """The user's own monthly budget, else the team default, else None (unlimited)."""
    if user.monthly_budget_micros is not None:
        return user.monthly_budget_micros
    return default_budget_micros()


def user_groups(session: Session, user_id: int) -> list[Group]:
    """The groups `user_id` belongs to, by id (the order their rows are locked in); read once
    per transaction (a reservation asks for the budgets and for the allowed models)."""
    key = (session.get_transaction(), user_id)
    known = session.info.setdefault("user_groups", {})
    if key not in known:
        query = (
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.user_id == user_id)
            .order_by(Group.id)
        )
        known[key] = list(session.exec(query).all())
    return known[key]


def applicable(session: Session, user: User, assistant: Assistant | None) -> list[Budget]:
    """The budgets a call by `user` with `assistant` counts against (fresh rows expected)."""
    budgets = []
    limit = user_budget_micros(user)
    if limit is not None:
        budgets.append(Budget("user", user.id, limit, "your monthly budget", "an administrator"))
    if assistant is not None and assistant.monthly_budget_micros is not None:
        budgets.append(
            Budget(
                "assistant",
                assistant.id,
                assistant.monthly_budget_micros,
                f"this assistant's monthly budget (“{assistant.name}”)",
                "its owner",
            )
        )
    for group in user_groups(session, user.id):
        if group.monthly_budget_micros is not None:
            budgets.append(
                Budget(
                    "group",
                    group.id,
                    group.monthly_budget_micros,
                    f"the monthly budget of your group “{group.name}”",
                    "an administrator",
                )
            )
    return budgets


def model_refusal(session: Session, user_id: int, model: str) -> str | None:
    """Why `user_id` may not use `model` (None: allowed).

    A group without a list allows every model, as does having no group; otherwise the model
    must be on the list of at least one of the user's groups.
    """
    groups = user_groups(session, user_id)
    if not groups or any(not group.allowed_models for group in groups):
        return None
    allowed = {name.lower() for group in groups for name in group.allowed_models}
    if model.lower() in allowed:
        return None
    return (
        f"Your groups may not use the model {model}. Allowed: {', '.join(sorted(allowed))}. "
        "Pick an assistant on one of those models, or ask an administrator."
    )


def _scope_filter(model: type, budget: Budget) -> sa.ColumnElement[bool]:
    if budget.scope == "group":  # everything the group's members spend, with any assistant
        members = select(GroupMember.user_id).where(GroupMember.group_id == budget.scope_id)
        return model.user_id.in_(members)
    column = model.user_id if budget.scope == "user" else model.assistant_id
    return column == budget.scope_id


def spent_query(budget: Budget, now: datetime | None = None) -> sa.Select:
    """The query for this month's ledger spend against `budget` (one integer)."""
    start = month_start(now)
    return select(sa.func.coalesce(sa.func.sum(SpendEntry.cost_micros), 0)).where(
        _scope_filter(SpendEntry, budget),
        SpendEntry.created_at >= start,
        SpendEntry.created_at < next_month(start),
    )


def reserved_query(budget: Budget, now: datetime | None = None) -> sa.Select:
    """The query for what open reservations hold against `budget` (expired ones don't)."""
    return select(sa.func.coalesce(sa.func.sum(Reservation.amount_micros), 0)).where(
        _scope_filter(Reservation, budget),
        Reservation.settled_at.is_(None),
        Reservation.expires_at > (now or datetime.now(UTC)),
    )


def spent_micros(session: Session, budget: Budget, now: datetime | None = None) -> int:
    """This month's ledger spend against `budget`."""
    return int(session.exec(spent_query(budget, now)).one() or 0)


def reserved_micros(session: Session, budget: Budget, now: datetime | None = None) -> int:
    """What open reservations hold against `budget` (expired ones no longer count)."""
    return int(session.exec(reserved_query(budget, now)).one() or 0)


def resets_on(now: datetime | None = None) -> str:
    """When this month's budgets reset, as a person reads it."""
    first = next_month(month_start(now))
    return f"{first.day} {first:%B %Y} (UTC)"


def refusal(
    budget: Budget, used_micros: int, amount_micros: int, now: datetime | None = None
) -> str | None:
    """Why a call of up to `amount_micros` does not fit `budget`, or None when it fits."""
    left = max(budget.limit_micros - used_micros, 0)
    if budget.limit_micros == 0:
        return (
            f"Sending is paused: {budget.name} is $0, so nothing can be spent. "
            f"{budget.raiser.capitalize()} can raise it."
        )
    if used_micros + max(amount_micros, 0) <= budget.limit_micros and left > 0:
        return None
    return (
        f"Sending is paused: this message could cost up to {format_usd(amount_micros)}, which "
        f"would pass {budget.name}: {format_usd(left)} left of "
        f"{format_usd(budget.limit_micros)}. It resets on {resets_on(now)}; "
        f"{budget.raiser} can raise it."
    )


def unpriced_refusal(model: str) -> str:
    """A call whose price is unknown cannot be kept within a budget."""
    return (
        f"The price of {model} is unknown, so this message cannot be kept within a monthly "
        "budget. Ask an administrator to add the model to the catalog."
    )


WARN_FRACTION = 0.8


def warning(budget: Budget, spent_micros: int) -> str | None:
    """A heads-up once `budget` is 80 % spent (None below that)."""
    if budget.limit_micros <= 0 or spent_micros < WARN_FRACTION * budget.limit_micros:
        return None
    return (
        f"You have used {spent_micros / budget.limit_micros:.0%} of {budget.name} "
        f"({format_usd(spent_micros)} of {format_usd(budget.limit_micros)})."
    )
