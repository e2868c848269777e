"""Token and cost aggregation, monthly budgets and usage export. Blocking: run off the loop.

Every figure is an aggregate query over the spend ledger (`SpendEntry`), never over message
rows: deleting a conversation or an account leaves its spend counted. A row whose model is
not in the catalog counts 0 and is reported as "unpriced". "Replies" are the ledger's model
calls made for a message (reply, retry, regenerate, edit). Months are calendar months in UTC.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from core.db import session_scope
from core.errors import BudgetExceeded
from models import Assistant, PriceSource, SpendEntry, User
from services.accounts.permissions import require_admin
from services.usage import budgets
from services.usage.budgets import (
    default_budget_micros,
    month_start,
    next_month,
    user_budget_micros,
)
from services.usage.pricing import MICROS_PER_USD, format_usd
from services.usage.reservations import REPLY_KINDS

WARN_FRACTION = 0.8
CHART_DAYS = 30
UNKNOWN_MODEL = "unknown"

Entry = SpendEntry
_REPLY = sa.case((Entry.kind.in_(REPLY_KINDS), 1), else_=0)
_UNPRICED = sa.case((Entry.price_source == PriceSource.unpriced, 1), else_=0)
_MODEL = sa.func.coalesce(Entry.model_alias, Entry.kind)  # storage rows: "storage"

__all__ = ["default_budget_micros", "month_start", "next_month", "user_budget_micros"]


# ---------------------------------------------------------------- periods


def previous_month(start: datetime) -> datetime:
    """The first instant of the month before the one starting at `start`."""
    return (start - timedelta(days=1)).replace(day=1)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def chart_days(now: datetime | None = None, days: int = CHART_DAYS) -> list[date]:
    """The last `days` calendar days (UTC), oldest first, ending today."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _as_date(value: Any) -> date:
    # SQLite's date() returns 'YYYY-MM-DD'; MySQL's DATE() returns a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------- scope


def _scoped(query: sa.Select, actor: User, everyone: bool) -> sa.Select:
    """Keep the actor's own ledger rows unless `everyone` (admins only)."""
    if everyone:
        require_admin(actor)
        return query
    return query.where(Entry.user_id == actor.id)


def _between(query: sa.Select, start: datetime, end: datetime) -> sa.Select:
    return query.where(Entry.created_at >= start, Entry.created_at < end)


# ---------------------------------------------------------------- totals


@dataclass(frozen=True)
class Totals:
    """Usage over a period."""

    messages: int = 0  # replies billed (reply, retry, regenerate, edit)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micros: int = 0
    unpriced: int = 0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class MonthTotals:
    """This month's usage next to last month's."""

    this: Totals
    last: Totals

    @property
    def cost_change(self) -> float | None:
        """Relative change of cost versus last month (None when last month was 0)."""
        return _change(self.this.cost_micros, self.last.cost_micros)

    @property
    def tokens_change(self) -> float | None:
        """Relative change of tokens versus last month (None when last month was 0)."""
        return _change(self.this.tokens, self.last.tokens)


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else (now - before) / before


def _totals_columns() -> tuple:
    return (
        sa.func.coalesce(sa.func.sum(_REPLY), 0),
        sa.func.coalesce(sa.func.sum(Entry.input_tokens), 0),
        sa.func.coalesce(sa.func.sum(Entry.output_tokens), 0),
        sa.func.coalesce(sa.func.sum(Entry.cost_micros), 0),
        sa.func.coalesce(sa.func.sum(_UNPRICED), 0),
    )


def _totals(row: Any) -> Totals:
    return Totals(*(int(value or 0) for value in row))


def month_totals(actor: User, everyone: bool = False, now: datetime | None = None) -> MonthTotals:
    """This and last calendar month's totals, for the actor (or the whole team, admins)."""
    this_start = month_start(now)
    last_start = previous_month(this_start)
    is_this = sa.case((Entry.created_at >= this_start, 1), else_=0).label("is_this")
    query = _between(select(is_this, *_totals_columns()), last_start, next_month(this_start))
    query = _scoped(query, actor, everyone).group_by(is_this)
    with session_scope() as session:
        rows = {row[0]: _totals(row[1:]) for row in session.exec(query)}
    return MonthTotals(this=rows.get(1, Totals()), last=rows.get(0, Totals()))


# ---------------------------------------------------------------- breakdowns


@dataclass(frozen=True)
class DailyModelUsage:
    """One day's replies from one model."""

    day: date
    model: str
    input_tokens: int
    output_tokens: int
    cost_micros: int


def daily_usage(
    actor: User, everyone: bool = False, days: int = CHART_DAYS, now: datetime | None = None
) -> list[DailyModelUsage]:
    """Tokens and cost per day and model over the last `days` days (days without use omitted).

    Tool fees are charted with the model that called them; storage days as "storage"."""
    first = chart_days(now, days)[0]
    day = sa.func.date(Entry.created_at).label("day")
    model = _MODEL.label("model")
    query = select(
        day,
        model,
        sa.func.sum(Entry.input_tokens),
        sa.func.sum(Entry.output_tokens),
        sa.func.sum(Entry.cost_micros),
    ).where(Entry.created_at >= _day_start(first))
    query = _scoped(query, actor, everyone).group_by(day, model).order_by(day, model)
    with session_scope() as session:
        return [
            DailyModelUsage(_as_date(d), m, int(i or 0), int(o or 0), int(c or 0))
            for d, m, i, o, c in session.exec(query)
        ]


@dataclass(frozen=True)
class GroupUsage:
    """Usage of one assistant, user or model over a period."""

    key: str
    label: str
    messages: int
    input_tokens: int
    output_tokens: int
    cost_micros: int


def _grouped(
    actor: User, everyone: bool, key: Any, label: Any, since: datetime
) -> list[GroupUsage]:
    cost = sa.func.sum(Entry.cost_micros)
    query = select(
        key,
        label,
        sa.func.sum(_REPLY),
        sa.func.sum(Entry.input_tokens),
        sa.func.sum(Entry.output_tokens),
        cost,
    ).where(Entry.created_at >= since)
    query = _scoped(query, actor, everyone)
    query = query.group_by(key, label).order_by(cost.desc(), key)
    with session_scope() as session:
        return [
            GroupUsage(str(k), str(lbl), int(n or 0), int(i or 0), int(o or 0), int(c or 0))
            for k, lbl, n, i, o, c in session.exec(query)
        ]


def chart_start(now: datetime | None = None) -> datetime:
    """The first instant of the charts' 30-day window."""
    return _day_start(chart_days(now)[0])


def _label(column: Any, fallback: str) -> Any:
    return sa.func.coalesce(sa.func.nullif(column, ""), fallback)


def usage_by_assistant(
    actor: User, everyone: bool = False, since: datetime | None = None
) -> list[GroupUsage]:
    """Replies, tokens and cost per assistant since `since` (default: the last 30 days)."""
    return _grouped(
        actor,
        everyone,
        sa.func.coalesce(Entry.assistant_id, 0),
        _label(Entry.assistant_label, "No assistant"),
        since or chart_start(),
    )


def usage_by_model(
    actor: User, everyone: bool = False, since: datetime | None = None
) -> list[GroupUsage]:
    """Replies, tokens and cost per model since `since` (default: the last 30 days)."""
    return _grouped(actor, everyone, _MODEL, _MODEL, since or chart_start())


def usage_by_user(actor: User, since: datetime | None = None) -> list[GroupUsage]:
    """Replies, tokens and cost per user since `since` (admins only; default: last 30 days).

    Deleted accounts are one anonymous group: their spend stays in the team's totals."""
    return _grouped(
        actor,
        True,
        sa.func.coalesce(Entry.user_id, 0),
        _label(Entry.user_label, "Deleted user"),
        since or chart_start(),
    )


def month_usage_per_user(actor: User, now: datetime | None = None) -> dict[int, Totals]:
    """This month's totals per user id (admins only), for the users table."""
    start = month_start(now)
    query = select(Entry.user_id, *_totals_columns())
    query = _scoped(_between(query, start, next_month(start)), actor, True)
    with session_scope() as session:
        return {
            owner: _totals(rest)
            for owner, *rest in session.exec(query.group_by(Entry.user_id))
            if owner is not None
        }


# ---------------------------------------------------------------- budgets


@dataclass(frozen=True)
class BudgetStatus:
    """How much of a monthly budget is used. `budget_micros` None = unlimited."""

    used_micros: int
    budget_micros: int | None
    fraction: float | None
    warning: str | None
    scope: str = "user"


def _status(used: int, budget: int | None, scope: str) -> BudgetStatus:
    if budget is None:
        return BudgetStatus(used, None, None, None, scope)
    fraction = used / budget if budget > 0 else 1.0
    what = "your monthly budget" if scope == "user" else "this assistant's monthly budget"
    warning = None
    if fraction >= 1:
        warning = (
            f"You have used all of {what} ({format_usd(used)} of {format_usd(budget)}). "
            f"Sending is paused until it resets on {budgets.resets_on()} or until "
            "an administrator raises it."
        )
    elif fraction >= WARN_FRACTION:
        warning = (
            f"You have used {fraction:.0%} of {what} ({format_usd(used)} of {format_usd(budget)})."
        )
    return BudgetStatus(used, budget, fraction, warning, scope)


def _statuses(user: User, assistant: Assistant | None, now: datetime | None) -> list[BudgetStatus]:
    with session_scope() as session:
        fresh = session.get(User, user.id) or user
        current = session.get(Assistant, assistant.id) if assistant and assistant.id else None
        applying = budgets.applicable(session, fresh, current)
        statuses = []
        for budget in applying:
            used = budgets.spent_micros(session, budget, now)
            statuses.append(_status(used, budget.limit_micros, budget.scope))
        if not any(b.scope == "user" for b in applying):
            user_only = budgets.Budget("user", user.id, 0, "", "")
            statuses.insert(0, _status(budgets.spent_micros(session, user_only, now), None, "user"))
    return statuses


def _tightest(statuses: list[BudgetStatus]) -> BudgetStatus:
    limited = [s for s in statuses if s.fraction is not None]
    return max(limited, key=lambda s: s.fraction) if limited else statuses[0]


def budget_status(
    user: User, assistant: Assistant | None = None, now: datetime | None = None
) -> BudgetStatus:
    """This month's ledger spend against the tightest budget that applies.

    The user's budget covers their own spend with every assistant; an assistant's budget
    (optional) covers everyone's spend with that assistant this month.
    """
    return _tightest(_statuses(user, assistant, now))


def check_budget(
    user: User, assistant: Assistant, estimate_micros: int | None, now: datetime | None = None
) -> BudgetStatus:
    """Would a call of up to `estimate_micros` fit now? BudgetExceeded says why not.

    A read-only check (for previews and suggestions); a send holds its worst case with
    `reservations.reserve` in its own transaction, which is what keeps the cap.
    """
    with session_scope() as session:
        fresh = session.get(User, user.id) or user
        current = session.get(Assistant, assistant.id) if assistant.id else assistant
        for budget in budgets.applicable(session, fresh, current):
            if estimate_micros is None:
                raise BudgetExceeded(budgets.unpriced_refusal(assistant.model))
            used = budgets.spent_micros(session, budget, now)
            used += budgets.reserved_micros(session, budget, now)
            reason = budgets.refusal(budget, used, estimate_micros, now)
            if reason:
                raise BudgetExceeded(reason)
    return budget_status(user, assistant, now)


# ---------------------------------------------------------------- forecast


@dataclass(frozen=True)
class Forecast:
    """Month-end spend at this month's daily pace, and when the cap would be reached."""

    month_end_micros: int
    cap_day: date | None  # None: no budget, or the pace stays under it

    def sentence(self, subject: str = "you") -> str:
        """ "At this pace …", as the dashboard says it; `subject` "this assistant" says it of
        an assistant ("… spends … and reaches its cap …")."""
        spend, reach, cap = (
            ("spend", "reach", "your") if subject == "you" else ("spends", "reaches", "its")
        )
        text = (
            f"At this pace {subject} {spend} about {format_usd(self.month_end_micros)} this month"
        )
        if self.cap_day is not None:
            return f"{text} and {reach} {cap} cap around {self.cap_day:%-d %b}."
        return f"{text}."


def forecast(spent_micros: int, budget_micros: int | None, now: datetime | None = None) -> Forecast:
    """Project this month's spend so far to the month's end, one day's pace at a time."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = month_start(now)
    days_in_month = (next_month(start) - start).days
    elapsed = max((now - start).total_seconds() / 86_400, 1.0)  # a day at least: no wild guess
    pace = spent_micros / elapsed
    month_end = round(pace * days_in_month)
    cap_day = None
    if budget_micros is not None and pace > 0 and month_end >= budget_micros:
        days_to_cap = max(budget_micros - spent_micros, 0) / pace
        cap_day = (now + timedelta(days=days_to_cap)).date()
    return Forecast(month_end, cap_day)


def assistant_forecast(actor: User, assistant_id: int, now: datetime | None = None) -> Forecast:
    """The month-end forecast of one assistant's spend (its owner or an admin only)."""
    with session_scope() as session:
        assistant = session.get(Assistant, assistant_id)
        if assistant is None or (assistant.owner_id != actor.id and actor.role != "admin"):
            require_admin(actor)
        scope = budgets.Budget("assistant", assistant_id, 0, "", "")
        spent = budgets.spent_micros(session, scope, now)
        limit = assistant.monthly_budget_micros if assistant else None
    return forecast(spent, limit, now)


# ---------------------------------------------------------------- export

EXPORT_HEADER = (
    "day",
    "user",
    "assistant",
    "model",
    "replies",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "unpriced_replies",
)


def export_rows(
    actor: User,
    everyone: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple]:
    """Ledger spend per day, user, assistant and model (the actor's own, or everyone's for
    admins). Tool fees count with the model that called them; cost is exact to the
    micro-dollar (six decimals), so the sum of a column equals the ledger's."""
    day = sa.func.date(Entry.created_at).label("day")
    user_label = _label(Entry.user_label, "Deleted user").label("user")
    assistant_label = _label(Entry.assistant_label, "No assistant").label("assistant")
    model = _MODEL.label("model")
    query = select(
        day,
        user_label,
        assistant_label,
        model,
        sa.func.sum(_REPLY),
        sa.func.sum(Entry.input_tokens),
        sa.func.sum(Entry.cached_tokens),
        sa.func.sum(Entry.output_tokens),
        sa.func.sum(Entry.reasoning_tokens),
        sa.func.sum(Entry.cost_micros),
        sa.func.sum(_UNPRICED),
    )
    query = _scoped(query, actor, everyone)
    if since is not None:
        query = query.where(Entry.created_at >= since)
    if until is not None:
        query = query.where(Entry.created_at < until)
    query = query.group_by(day, user_label, assistant_label, model).order_by(
        day, user_label, assistant_label, model
    )
    with session_scope() as session:
        rows = session.exec(query).all()
    return [
        (
            _as_date(d).isoformat(),
            _csv_safe(name),
            _csv_safe(assistant),
            _csv_safe(mdl),
            *(int(v or 0) for v in (n, i, ca, o, r)),
            f"{Decimal(int(c or 0)) / MICROS_PER_USD:.6f}",
            int(u or 0),
        )
        for d, name, assistant, mdl, n, i, ca, o, r, c, u in rows
    ]


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(
    actor: User,
    everyone: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """The usage export as CSV text (header row first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    writer.writerows(export_rows(actor, everyone, since, until))
    return buffer.getvalue()
