"""The audit log: what is recorded, filters, CSV, retention, and that no secret is stored."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import AuthError, PermissionDenied, ValidationError
from models import AuditEvent, User
from services.accounts import admin, audit, audit_log, groups
from services.accounts.audit_log import AuditFilter
from services.accounts.users import authenticate
from tests.factories import make_user


@pytest.fixture
def pair(database: str) -> tuple[User, User]:
    return make_user("alice"), make_user("bob")


def events() -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)))


def test_a_failed_sign_in_is_recorded_without_the_password(pair) -> None:
    secret = "Hunter2-very-secret-password"
    with pytest.raises(AuthError):
        authenticate("alice", secret, "10.0.0.7")
    with pytest.raises(AuthError):
        authenticate("nobody", secret, "10.0.0.7")
    authenticate("alice", "password123", "10.0.0.8")
    failed = [e for e in events() if e.action == "signin.failed"]
    assert [(e.actor_name, e.details["reason"], e.address) for e in failed] == [
        ("alice", "wrong password", "10.0.0.7"),
        ("nobody", "unknown user", "10.0.0.7"),
    ]
    ok = [e for e in events() if e.action == "signin.ok"]
    assert ok[-1].actor_name == "alice" and ok[-1].details["method"] == "password"
    with session_scope() as session:  # nowhere in any column of any row
        dump = json.dumps([e.model_dump(mode="json") for e in session.exec(select(AuditEvent))])
    assert secret not in dump and "password123" not in dump


def test_details_named_like_secrets_are_redacted(pair) -> None:
    alice, _ = pair
    audit.record("apikey.created", alice, target="apikey:1", token="as_abc", prefix="as_ab")
    row = events()[-1]
    assert row.details == {"token": "[redacted]", "prefix": "as_ab"}
    assert (row.target, row.actor_id) == ("apikey:1", alice.id)


def test_admin_and_group_actions_are_recorded(pair) -> None:
    alice, bob = pair
    admin.set_role(alice, bob.id, "admin")
    admin.set_budget(alice, bob.id, "5")
    admin.set_active(alice, bob.id, False)
    group = groups.create_group(alice, "engineering")
    groups.add_member(alice, group.id, "alice")
    groups.set_group_budget(alice, group.id, "10")
    groups.set_allowed_models(alice, group.id, "gpt-4o-mini")
    groups.remove_member(alice, group.id, alice.id)
    groups.delete_group(alice, group.id)
    recorded = [(e.action, e.target) for e in events() if e.actor_name == "alice"]
    assert recorded == [
        ("admin.set_role", f"user:{bob.id}"),
        ("admin.set_budget", f"user:{bob.id}"),
        ("admin.disable", f"user:{bob.id}"),
        ("group.created", f"group:{group.id}"),
        ("group.add_member", f"group:{group.id}"),
        ("group.set_budget", f"group:{group.id}"),
        ("group.set_models", f"group:{group.id}"),
        ("group.remove_member", f"group:{group.id}"),
        ("group.deleted", f"group:{group.id}"),
    ]


def test_filters_csv_and_admins_only(pair) -> None:
    alice, bob = pair
    with pytest.raises(AuthError):
        authenticate("bob", "wrong-password", "10.0.0.9")
    audit.record("share.created", bob, target="share:3")
    with pytest.raises(PermissionDenied):
        audit_log.list_events(bob, AuditFilter())
    with pytest.raises(PermissionDenied):
        audit_log.export_csv(bob, AuditFilter())
    by_bob = audit_log.list_events(alice, AuditFilter(who="BO"))
    assert {e.action for e in by_bob} == {"signin.failed", "share.created"}
    assert [e.action for e in audit_log.list_events(alice, AuditFilter(action="share"))] == [
        "share.created"
    ]
    today = datetime.now(UTC).date()
    assert audit_log.list_events(alice, AuditFilter(until=today - timedelta(days=1))) == []
    assert len(audit_log.list_events(alice, AuditFilter(since=today, until=today))) >= 2
    with pytest.raises(ValidationError, match="start date is after"):
        audit_log.list_events(alice, AuditFilter(since=today, until=today - timedelta(days=1)))
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        audit_log.parse_day("yesterday", "since")
    text = audit_log.export_csv(alice, AuditFilter(who="bob"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["action"] for row in rows} == {"signin.failed", "share.created"}
    assert all(row["actor"] == "bob" for row in rows)
    assert events()[-1].action == "admin.audit_export"


def test_a_typed_name_cannot_become_a_spreadsheet_formula(pair) -> None:
    alice, _ = pair
    with pytest.raises(AuthError):
        authenticate("=HYPERLINK(1)", "x", "10.0.0.1")
    rows = list(csv.DictReader(io.StringIO(audit_log.export_csv(alice, AuditFilter()))))
    assert "'=hyperlink(1)" in {row["actor"] for row in rows}


def test_retention_deletes_old_events(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, _ = pair
    audit.record("admin.set_budget", alice)
    now = datetime.now(UTC)
    with session_scope() as session:
        session.add(AuditEvent(created_at=now - timedelta(days=40), action="old.event"))
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    assert audit.prune() == 0  # 0 keeps everything
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    assert audit.prune() == 1
    assert "old.event" not in {e.action for e in events()}
    assert "admin.set_budget" in {e.action for e in events()}
