"""Usage aggregates on SQLite and MariaDB, checked against hand-computed totals."""

from __future__ import annotations

import csv
import io

import pytest

from core.errors import PermissionDenied
from services.usage import dashboard
from services.usage import spend as usage
from tests.factories import add_assistant, add_conversation, add_reply, at, make_user

NOW = at(2026, 3, 20, 15)


@pytest.fixture
def team(database: str):
    """alice (admin) with two assistants, bob (member) using alice's shared one."""
    alice = make_user("alice")
    bob = make_user("bob")
    writer = add_assistant(alice, "Writer", shared=True)
    coder = add_assistant(alice, "Coder")
    c1 = add_conversation(alice, writer)
    c2 = add_conversation(alice, coder)
    c3 = add_conversation(bob, writer)
    add_reply(c1, at(2026, 3, 20, 9), 1000, "m1", 100, 50)
    add_reply(c1, at(2026, 3, 19), 2000, "m2", 200, 100)
    add_reply(c1, at(2026, 3, 1, 0), 500, "m1", 10, 5)  # first instant of the month
    add_reply(c1, at(2026, 2, 28, 23), 4000, "m1", 400, 200)  # last month
    add_reply(c2, at(2026, 3, 10), None, "custom", 30, 20)  # unpriced model
    add_reply(c3, at(2026, 3, 20, 10), 7000, "m1", 700, 300)
    add_reply(c3, at(2025, 12, 5), 9999, "m1", 1, 1)  # outside every window
    return alice, bob


def test_month_totals_and_change(team) -> None:
    alice, _ = team
    month = usage.month_totals(alice, now=NOW)
    assert month.this == usage.Totals(
        messages=4, input_tokens=340, output_tokens=175, cost_micros=3500, unpriced=1
    )
    assert month.last == usage.Totals(
        messages=1, input_tokens=400, output_tokens=200, cost_micros=4000, unpriced=0
    )
    assert month.cost_change == pytest.approx(-0.125)
    assert month.tokens_change == pytest.approx((515 - 600) / 600)


def test_team_month_totals_for_admin(team) -> None:
    alice, _ = team
    month = usage.month_totals(alice, everyone=True, now=NOW)
    assert month.this.cost_micros == 10500
    assert month.this.messages == 5  # replies
    assert usage.month_usage_per_user(alice, now=NOW)[team[1].id].cost_micros == 7000


def test_daily_usage_by_model(team) -> None:
    alice, _ = team
    rows = usage.daily_usage(alice, now=NOW)
    assert [(r.day.isoformat(), r.model, r.cost_micros, r.input_tokens) for r in rows] == [
        ("2026-02-28", "m1", 4000, 400),
        ("2026-03-01", "m1", 500, 10),
        ("2026-03-10", "custom", 0, 30),
        ("2026-03-19", "m2", 2000, 200),
        ("2026-03-20", "m1", 1000, 100),
    ]
    team_rows = usage.daily_usage(alice, everyone=True, now=NOW)
    assert sum(r.cost_micros for r in team_rows) == 14500


def test_breakdowns(team) -> None:
    alice, bob = team
    since = usage.chart_start(NOW)
    mine = usage.usage_by_assistant(alice, since=since)
    assert [(g.label, g.messages, g.cost_micros) for g in mine] == [
        ("Writer", 4, 7500),
        ("Coder", 1, 0),
    ]
    everyone = usage.usage_by_assistant(alice, everyone=True, since=since)
    top = everyone[0]
    assert (top.label, top.cost_micros, top.messages) == ("Writer", 14500, 5)
    by_user = usage.usage_by_user(alice, since=since)
    assert [(g.label, g.cost_micros, g.output_tokens) for g in by_user] == [
        ("alice", 7500, 375),
        ("bob", 7000, 300),
    ]
    by_model = usage.usage_by_model(alice, everyone=True, since=since)
    assert {g.key: g.cost_micros for g in by_model} == {"m1": 12500, "m2": 2000, "custom": 0}
    assert usage.usage_by_assistant(bob, since=since)[0].cost_micros == 7000


def test_members_cannot_see_team_figures(team) -> None:
    _, bob = team
    with pytest.raises(PermissionDenied):
        usage.month_totals(bob, everyone=True)
    with pytest.raises(PermissionDenied):
        usage.usage_by_user(bob)
    with pytest.raises(PermissionDenied):
        usage.export_csv(bob, everyone=True)
    with pytest.raises(PermissionDenied):
        dashboard.team_usage(bob)


def test_csv_export(team) -> None:
    alice, bob = team
    rows = list(csv.reader(io.StringIO(usage.export_csv(alice, everyone=True))))
    assert rows[0] == list(usage.EXPORT_HEADER)
    assert len(rows) == 1 + 7
    bob_row = ["2026-03-20", "bob", "Writer", "m1", "1", "700", "0", "300", "0", "0.007000", "0"]
    unpriced = ["2026-03-10", "alice", "Coder", "custom", "1", "30", "0", "20", "0", "0.000000"]
    unpriced.append("1")
    assert bob_row in rows and unpriced in rows
    own = list(csv.reader(io.StringIO(usage.export_csv(bob))))
    assert {row[1] for row in own[1:]} == {"bob"}
    march = usage.export_rows(alice, since=at(2026, 3, 1, 0), until=at(2026, 4, 1, 0))
    assert sum(float(row[9]) for row in march) == pytest.approx(0.0035)


def test_csv_export_neutralises_formulas(database: str) -> None:
    alice = make_user("alice")
    add_reply(add_conversation(alice, add_assistant(alice, "=HYPERLINK(1)")), NOW, 5)
    rows = list(csv.reader(io.StringIO(usage.export_csv(alice))))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_dashboard_for_new_user_is_empty(database: str) -> None:
    alice = make_user("alice")
    board = dashboard.dashboard_for(alice)
    assert board.is_empty
    assert board.counts == dashboard.Counts(0, 0)
    assert board.recent == [] and board.top_assistants == []
    assert board.budget.budget_micros is None


def test_dashboard_shortcuts(team) -> None:
    alice, bob = team
    board = dashboard.dashboard_for(alice, now=NOW)
    assert board.counts == dashboard.Counts(assistants=2, conversations=2)
    assert {c.assistant_name for c in board.recent} == {"Writer", "Coder"}
    bob_board = dashboard.dashboard_for(bob, now=NOW)
    assert [a.name for a in bob_board.top_assistants] == ["Writer"]
    # A private assistant of someone else never shows up as a shortcut.
    add_conversation(bob, add_assistant(alice, "Private"))
    assert [a.name for a in dashboard.top_assistants(bob)] == ["Writer"]
