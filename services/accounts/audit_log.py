"""Reading the audit log: admins filter events by who, action and dates, and export CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import select

from core.db import contains_pattern, session_scope
from core.errors import ValidationError
from models import AuditEvent, User
from services.accounts import audit
from services.accounts.permissions import require_admin

PAGE_SIZE = 200
CSV_LIMIT = 100_000


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asks for; empty fields match everything. Dates are UTC days, inclusive."""

    who: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def parse_day(text: str | None, field: str) -> date | None:
    """A `YYYY-MM-DD` date from a form (empty: None); ValidationError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError("Enter a date as YYYY-MM-DD.", field) from exc


def _query(filters: AuditFilter) -> sa.Select:
    query = select(AuditEvent)
    if filters.who.strip():
        query = query.where(
            sa.func.lower(AuditEvent.actor_name).like(contains_pattern(filters.who), escape="\\")
        )
    if filters.action.strip():
        query = query.where(
            sa.func.lower(AuditEvent.action).like(contains_pattern(filters.action), escape="\\")
        )
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= datetime.combine(filters.since, time(), UTC))
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.created_at < end)
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def list_events(actor: User, filters: AuditFilter, limit: int = PAGE_SIZE) -> list[AuditEvent]:
    """The newest events matching `filters` (admins only)."""
    require_admin(actor)
    if filters.since and filters.until and filters.since > filters.until:
        raise ValidationError("The start date is after the end date.", "since")
    with session_scope() as session:
        return list(session.exec(_query(filters).limit(limit)).all())


def export_csv(actor: User, filters: AuditFilter) -> str:
    """Every event matching `filters` as CSV (admins only; the export is itself audited)."""
    rows = list_events(actor, filters, CSV_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time_utc", "action", "actor_id", "actor", "target", "address", "details"])
    for row in rows:
        writer.writerow(
            [
                row.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                row.action,
                "" if row.actor_id is None else row.actor_id,
                _cell(row.actor_name),
                _cell(row.target),
                row.address,
                _cell(json.dumps(row.details, sort_keys=True, ensure_ascii=False)),
            ]
        )
    audit.record("admin.audit_export", actor, rows=len(rows))
    return out.getvalue()


def _cell(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula (a username can be typed).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
