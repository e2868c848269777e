"""Figures for the dashboard and the admin's team usage, computed in the database."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import func, select

from core.db import session_scope
from models import Assistant, Conversation, User
from services.accounts.permissions import assistant_visible_to, require_admin
from services.usage import spend as usage
from services.usage.spend import BudgetStatus, DailyModelUsage, GroupUsage, MonthTotals

RECENT_LIMIT = 6
TOP_ASSISTANTS_LIMIT = 5
# The page's figures are independent reads; each runs on its own pooled connection, so a page
# costs its slowest query rather than the sum (bounded: 4 at once, whatever the traffic).
_readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dashboard")


def _at_once(**reads: Callable[[], Any]) -> dict[str, Any]:
    """Run independent read-only queries in parallel; their results by name (the first
    error raised, as a plain call would)."""
    futures = {name: _readers.submit(read) for name, read in reads.items()}
    return {name: future.result() for name, future in futures.items()}


@dataclass(frozen=True)
class Counts:
    """How much a user has."""

    assistants: int
    conversations: int


@dataclass(frozen=True)
class RecentConversation:
    """A conversation to continue in one click."""

    id: int
    title: str
    assistant_name: str
    updated_at: datetime
    message_count: int


@dataclass(frozen=True)
class TopAssistant:
    """An assistant the user talks to often."""

    id: int
    name: str
    model: str
    conversations: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard at `/` shows for one user."""

    counts: Counts
    month: MonthTotals
    budget: BudgetStatus
    daily: list[DailyModelUsage]
    by_assistant: list[GroupUsage]
    recent: list[RecentConversation]
    top_assistants: list[TopAssistant]
    forecast: usage.Forecast | None = None

    @property
    def is_empty(self) -> bool:
        """True for a new user with nothing to chart yet."""
        return not self.daily and self.month.this.messages == 0


@dataclass(frozen=True)
class TeamUsage:
    """The whole team's usage for the admin page."""

    month: MonthTotals
    daily: list[DailyModelUsage]
    by_user: list[GroupUsage]
    by_assistant: list[GroupUsage]
    by_model: list[GroupUsage]


def counts_for(user_id: int) -> Counts:
    """The user's own assistants and conversations."""
    with session_scope() as session:
        assistants = session.exec(
            select(func.count()).select_from(Assistant).where(Assistant.owner_id == user_id)
        ).one()
        conversations = session.exec(
            select(func.count()).select_from(Conversation).where(Conversation.owner_id == user_id)
        ).one()
    return Counts(assistants=assistants, conversations=conversations)


def recent_conversations(user: User, limit: int = RECENT_LIMIT) -> list[RecentConversation]:
    """The user's most recently active conversations (uses the (owner, updated_at) index)."""
    query = (
        select(
            Conversation.id,
            Conversation.title,
            Assistant.name,
            Conversation.updated_at,
            Conversation.message_count,
        )
        .outerjoin(Assistant, Assistant.id == Conversation.assistant_id)
        .where(Conversation.owner_id == user.id, Conversation.continued_by_id.is_(None))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    with session_scope() as session:
        return [
            RecentConversation(cid, title, name or "Deleted assistant", updated, count)
            for cid, title, name, updated, count in session.exec(query)
        ]


def top_assistants(user: User, limit: int = TOP_ASSISTANTS_LIMIT) -> list[TopAssistant]:
    """The assistants the user has most conversations with (only ones they may still use)."""
    count = func.count(Conversation.id)
    query = (
        select(Assistant.id, Assistant.name, Assistant.model, count)
        .join(Conversation, Conversation.assistant_id == Assistant.id)
        .where(
            Conversation.owner_id == user.id,
            assistant_visible_to(user),
        )
        .group_by(Assistant.id, Assistant.name, Assistant.model)
        .order_by(count.desc(), Assistant.id)
        .limit(limit)
    )
    with session_scope() as session:
        return [TopAssistant(*row) for row in session.exec(query)]


def dashboard_for(user: User, now: datetime | None = None) -> Dashboard:
    """The user's dashboard: counts, this month vs last, budget, forecast, charts, shortcuts."""
    since = usage.chart_start(now)
    figures = _at_once(
        month=lambda: usage.month_totals(user, now=now),
        budget=lambda: usage.budget_status(user, now=now),
        counts=lambda: counts_for(user.id),
        daily=lambda: usage.daily_usage(user, now=now),
        by_assistant=lambda: usage.usage_by_assistant(user, since=since),
        recent=lambda: recent_conversations(user),
        top_assistants=lambda: top_assistants(user),
    )
    month, budget = figures["month"], figures["budget"]
    return Dashboard(
        **figures, forecast=usage.forecast(month.this.cost_micros, budget.budget_micros, now)
    )


def team_usage(admin: User, now: datetime | None = None) -> TeamUsage:
    """The whole team's usage over the last 30 days (admins only: PermissionDenied otherwise)."""
    require_admin(admin)
    since = usage.chart_start(now)
    return TeamUsage(
        **_at_once(
            month=lambda: usage.month_totals(admin, everyone=True, now=now),
            daily=lambda: usage.daily_usage(admin, everyone=True, now=now),
            by_user=lambda: usage.usage_by_user(admin, since),
            by_assistant=lambda: usage.usage_by_assistant(admin, everyone=True, since=since),
            by_model=lambda: usage.usage_by_model(admin, everyone=True, since=since),
        )
    )
