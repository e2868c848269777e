"""The dashboard through NiceGUI's simulated user: empty state, figures, charts, banner."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from core.db import session_scope
from models import User as Account
from services.accounts import admin
from services.usage import spend as usage
from tests.factories import add_assistant, add_conversation, add_reply
from tests.ui.helpers import register


def account(name: str) -> Account:
    with session_scope() as session:
        return session.exec(select(Account).where(Account.username == name)).one()


async def test_new_user_sees_empty_states(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    await user.should_see("No usage yet")
    await user.should_see("No conversations yet.")
    await user.should_see("Cost this month")
    await user.should_not_see("Budget used")
    await user.should_not_see(kind=ui.echart)


async def test_figures_charts_and_shortcuts(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    alice = account("alice")
    writer = add_assistant(alice, "Writer")
    chat_id = add_conversation(alice, writer, "Quarterly plan")
    add_reply(chat_id, usage.month_start(), 1_234_567, "gpt-4.1-mini", 1000, 500)
    await user.open("/")
    await user.should_see("$1.23", retries=30)  # cost this month
    await user.should_see("1,500")  # tokens this month
    await user.should_see("Quarterly plan")
    await user.should_see("Most-used assistants")
    charts = user.find(kind=ui.echart).elements
    assert len(charts) == 3
    series = [s["name"] for chart in charts for s in chart.options["series"]]
    assert "gpt-4.1-mini" in series and "Input tokens" in series
    await user.should_not_see(marker="budget-banner")


async def test_budget_banner_from_80_percent(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    alice = account("alice")
    add_reply(add_conversation(alice, None), usage.month_start(), 850_000)
    admin.set_budget(alice, alice.id, "1")
    await user.open("/")
    await user.should_see(retries=30, content="You have used 85% of your monthly budget")
    await user.should_see("Budget used")
    add_reply(add_conversation(alice, None), usage.month_start(), 150_000)
    await user.open("/")
    await user.should_see(retries=30, content="You have used all of your monthly budget")
