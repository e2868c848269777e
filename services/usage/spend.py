"""Token and cost aggregation, monthly budgets and usage export. Blocking: run off the loop.

Every figure is an aggregate query in the database (no message is loaded into Python). Spend is
the sum of `ConversationMessage.cost_micros` of the conversations a user owns; a reply whose
cost is unknown (model missing from the catalog) counts 0 and is reported as "unpriced".
Months are calendar months in UTC.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from core.db import session_scope
from core.errors import BudgetExceeded
from models import Assistant, Conversation, ConversationMessage, MessageRole, User
from services.accounts.permissions import require_admin
from services.usage.pricing import MICROS_PER_USD, format_usd

WARN_FRACTION = 0.8
CHART_DAYS = 30
UNKNOWN_MODEL = "unknown"

Message = ConversationMessage
_COST = sa.func.coalesce(Message.cost_micros, 0)
_UNPRICED = sa.case(
    (
        sa.and_(
            Message.role == MessageRole.assistant,
            Message.cost_micros.is_(None),
            Message.input_tokens + Message.output_tokens > 0,
        ),
        1,
    ),
    else_=0,
)


# ---------------------------------------------------------------- periods


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC on the first day of the month containing `now`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after the one starting at `start`."""
    return (start + timedelta(days=32)).replace(day=1)


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
    """Join messages to their conversation and keep the actor's own unless `everyone`."""
    query = query.join(Conversation, Conversation.id == Message.conversation_id)
    if everyone:
        require_admin(actor)
        return query
    return query.where(Conversation.owner_id == actor.id)


def _between(query: sa.Select, start: datetime, end: datetime) -> sa.Select:
    return query.where(Message.created_at >= start, Message.created_at < end)


# ---------------------------------------------------------------- totals


@dataclass(frozen=True)
class Totals:
    """Usage over a period."""

    messages: int = 0
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
        sa.func.count(Message.id),
        sa.func.coalesce(sa.func.sum(Message.input_tokens), 0),
        sa.func.coalesce(sa.func.sum(Message.output_tokens), 0),
        sa.func.coalesce(sa.func.sum(_COST), 0),
        sa.func.coalesce(sa.func.sum(_UNPRICED), 0),
    )


def _totals(row: Any) -> Totals:
    return Totals(*(int(value or 0) for value in row))


def month_totals(actor: User, everyone: bool = False, now: datetime | None = None) -> MonthTotals:
    """This and last calendar month's totals, for the actor (or the whole team, admins)."""
    this_start = month_start(now)
    last_start = previous_month(this_start)
    is_this = sa.case((Message.created_at >= this_start, 1), else_=0).label("is_this")
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
    """Tokens and cost per day and model over the last `days` days (days without use omitted)."""
    first = chart_days(now, days)[0]
    day = sa.func.date(Message.created_at).label("day")
    model = sa.func.coalesce(Message.model, UNKNOWN_MODEL).label("model")
    query = select(
        day,
        model,
        sa.func.sum(Message.input_tokens),
        sa.func.sum(Message.output_tokens),
        sa.func.sum(_COST),
    ).where(Message.role == MessageRole.assistant, Message.created_at >= _day_start(first))
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
    actor: User, everyone: bool, key: Any, label: Any, since: datetime, extra_join: Any = None
) -> list[GroupUsage]:
    query = select(
        key,
        label,
        sa.func.count(Message.id),
        sa.func.sum(Message.input_tokens),
        sa.func.sum(Message.output_tokens),
        sa.func.sum(_COST),
    ).where(Message.role == MessageRole.assistant, Message.created_at >= since)
    query = _scoped(query, actor, everyone)
    if extra_join is not None:
        query = extra_join(query)
    query = query.group_by(key, label).order_by(sa.func.sum(_COST).desc(), key)
    with session_scope() as session:
        return [
            GroupUsage(str(k), str(lbl), int(n or 0), int(i or 0), int(o or 0), int(c or 0))
            for k, lbl, n, i, o, c in session.exec(query)
        ]


def chart_start(now: datetime | None = None) -> datetime:
    """The first instant of the charts' 30-day window."""
    return _day_start(chart_days(now)[0])


def usage_by_assistant(
    actor: User, everyone: bool = False, since: datetime | None = None
) -> list[GroupUsage]:
    """Replies, tokens and cost per assistant since `since` (default: the last 30 days)."""
    name = sa.func.coalesce(Assistant.name, "Deleted assistant")
    return _grouped(
        actor,
        everyone,
        sa.func.coalesce(Conversation.assistant_id, 0),
        name,
        since or chart_start(),
        lambda q: q.outerjoin(Assistant, Assistant.id == Conversation.assistant_id),
    )


def usage_by_model(
    actor: User, everyone: bool = False, since: datetime | None = None
) -> list[GroupUsage]:
    """Replies, tokens and cost per model since `since` (default: the last 30 days)."""
    model = sa.func.coalesce(Message.model, UNKNOWN_MODEL)
    return _grouped(actor, everyone, model, model, since or chart_start())


def usage_by_user(actor: User, since: datetime | None = None) -> list[GroupUsage]:
    """Replies, tokens and cost per user since `since` (admins only; default: last 30 days)."""
    return _grouped(
        actor,
        True,
        Conversation.owner_id,
        User.username,
        since or chart_start(),
        lambda q: q.join(User, User.id == Conversation.owner_id),
    )


def month_usage_per_user(actor: User, now: datetime | None = None) -> dict[int, Totals]:
    """This month's totals per user id (admins only), for the users table."""
    start = month_start(now)
    query = select(Conversation.owner_id, *_totals_columns())
    query = _scoped(_between(query, start, next_month(start)), actor, True)
    with session_scope() as session:
        return {
            owner: _totals(rest)
            for owner, *rest in session.exec(query.group_by(Conversation.owner_id))
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


def default_budget_micros() -> int | None:
    """The team default monthly budget from settings (None = unlimited)."""
    usd = get_settings().default_monthly_budget_usd
    return None if usd is None else round(usd * MICROS_PER_USD)


def user_budget_micros(user: User) -> int | None:
    """The user's own monthly budget, else the team default, else None (unlimited)."""
    if user.monthly_budget_micros is not None:
        return user.monthly_budget_micros
    return default_budget_micros()


def _spend(
    session: Session,
    start: datetime,
    *,
    owner_id: int | None = None,
    assistant_id: int | None = None,
) -> int:
    query = select(sa.func.coalesce(sa.func.sum(_COST), 0)).join(
        Conversation, Conversation.id == Message.conversation_id
    )
    if owner_id is not None:
        query = query.where(Conversation.owner_id == owner_id)
    if assistant_id is not None:
        query = query.where(Conversation.assistant_id == assistant_id)
    return int(session.exec(_between(query, start, next_month(start))).one() or 0)


def _status(used: int, budget: int | None, scope: str) -> BudgetStatus:
    if budget is None:
        return BudgetStatus(used, None, None, None, scope)
    fraction = used / budget if budget > 0 else 1.0
    what = "your monthly budget" if scope == "user" else "this assistant's monthly budget"
    warning = None
    if fraction >= 1:
        warning = (
            f"You have used all of {what} ({format_usd(used)} of {format_usd(budget)}). "
            "Sending is paused until next month or until an administrator raises it."
        )
    elif fraction >= WARN_FRACTION:
        warning = (
            f"You have used {fraction:.0%} of {what} ({format_usd(used)} of {format_usd(budget)})."
        )
    return BudgetStatus(used, budget, fraction, warning, scope)


def _statuses(user: User, assistant: Assistant | None, now: datetime | None) -> list[BudgetStatus]:
    start = month_start(now)
    with session_scope() as session:
        fresh = session.get(User, user.id) or user
        used = _spend(session, start, owner_id=user.id)
        statuses = [_status(used, user_budget_micros(fresh), "user")]
        if assistant is not None and assistant.id is not None:
            current = session.get(Assistant, assistant.id) or assistant
            if current.monthly_budget_micros is not None:
                used = _spend(session, start, assistant_id=assistant.id)
                statuses.append(_status(used, current.monthly_budget_micros, "assistant"))
    return statuses


def _tightest(statuses: list[BudgetStatus]) -> BudgetStatus:
    limited = [s for s in statuses if s.fraction is not None]
    return max(limited, key=lambda s: s.fraction) if limited else statuses[0]


def budget_status(
    user: User, assistant: Assistant | None = None, now: datetime | None = None
) -> BudgetStatus:
    """This month's spend against the tightest budget that applies.

    The user's budget covers their own spend with every assistant; an assistant's budget
    (optional) covers everyone's spend with that assistant this month.
    """
    return _tightest(_statuses(user, assistant, now))


def check_budget(
    user: User, assistant: Assistant, estimate_micros: int | None, now: datetime | None = None
) -> BudgetStatus:
    """Refuse (BudgetExceeded) a turn whose cost preview would pass a budget.

    Called before the provider: a turn can overshoot by at most its own estimate, and a reply
    already streaming is never cut off. An estimate of None means the model's price is
    unknown: its spend could not be counted, so no budget can be kept and sending is refused.
    """
    estimate = max(estimate_micros or 0, 0)
    statuses = _statuses(user, assistant, now)
    for status in statuses:
        if status.budget_micros is None:
            continue
        if estimate_micros is None:
            raise BudgetExceeded(
                f"The price of {assistant.model} is unknown, so this message cannot be kept "
                "within a monthly budget. Ask an administrator to add the model to the catalog."
            )
        if status.used_micros >= status.budget_micros or (
            status.used_micros + estimate > status.budget_micros
        ):
            whose, who = ("your", "an administrator")
            if status.scope == "assistant":
                whose, who = ("this assistant's", "its owner")
            if status.budget_micros == 0:
                raise BudgetExceeded(
                    f"Sending is paused: {whose} monthly budget is $0. {who.capitalize()} "
                    "can raise it."
                )
            raise BudgetExceeded(
                f"Sending is paused: this message (about {format_usd(estimate)}) would pass "
                f"{whose} monthly budget ({format_usd(status.used_micros)} of "
                f"{format_usd(status.budget_micros)} used). It resets on the 1st; {who} "
                "can raise it."
            )
    return _tightest(statuses)


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
    """Usage per day, user, assistant and model (the actor's own, or everyone's for admins)."""
    day = sa.func.date(Message.created_at).label("day")
    assistant_name = sa.func.coalesce(Assistant.name, "Deleted assistant").label("assistant")
    model = sa.func.coalesce(Message.model, UNKNOWN_MODEL).label("model")
    query = select(
        day,
        User.username,
        assistant_name,
        model,
        sa.func.count(Message.id),
        sa.func.sum(Message.input_tokens),
        sa.func.sum(Message.cached_tokens),
        sa.func.sum(Message.output_tokens),
        sa.func.sum(Message.reasoning_tokens),
        sa.func.sum(_COST),
        sa.func.sum(_UNPRICED),
    ).where(Message.role == MessageRole.assistant)
    query = _scoped(query, actor, everyone)
    query = query.join(User, User.id == Conversation.owner_id).outerjoin(
        Assistant, Assistant.id == Conversation.assistant_id
    )
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    query = query.group_by(day, User.username, assistant_name, model).order_by(
        day, User.username, assistant_name, model
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
            f"{int(c or 0) / MICROS_PER_USD:.6f}",
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
