"""Dashboard charts and the budget banner in real headless Chromium against the real app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from core import db
from core.config import get_settings
from models import utcnow
from services.accounts import users as accounts
from tests.e2e.conftest import AppServer, save_screenshot, sign_up
from tests.factories import add_assistant, add_conversation, add_reply, make_user

pytestmark = pytest.mark.browser

MODELS = ("gpt-4.1-mini", "gpt-4.1", "o4-mini")


def use_app_database(server: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's services at the running app's SQLite file (to seed usage)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{server.data_dir / 'studio.db'}")
    get_settings.cache_clear()
    db.reset_engine()


def seed_month_of_usage(owner: accounts.User) -> None:
    """Three weeks of replies from three assistants and three models."""
    names = ("Research helper", "Code reviewer", "Copy editor")
    assistants = [add_assistant(owner, name, shared=True) for name in names]
    now = utcnow()
    for index, assistant in enumerate(assistants):
        conversation = add_conversation(owner, assistant, f"{assistant.name} session")
        for day in range(0, 45, index + 1):
            add_reply(
                conversation,
                now - timedelta(days=day, hours=index),
                cost=2_000 + (day * 997 + index * 3_001) % 15_000,
                model=MODELS[(day + index) % len(MODELS)],
                input_tokens=800 + day * 37,
                output_tokens=300 + day * 11,
            )


def test_dashboard_charts_and_budget_banner(
    app_server: AppServer, page: Page, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = app_server.url
    sign_up(page, url, "alice")
    use_app_database(app_server, monkeypatch)
    with db.session_scope() as session:
        alice = session.get(accounts.User, 1)
    seed_month_of_usage(alice)
    bob = make_user("bob")
    add_reply(add_conversation(bob, None), utcnow(), cost=90_000)  # $0.09 this month

    page.goto(f"{url}/")
    expect(page.get_by_text("Cost per day")).to_be_visible()
    charts = page.locator("div[_echarts_instance_] canvas")
    expect(charts).to_have_count(3)
    page.wait_for_timeout(800)  # let ECharts finish its entry animation
    save_screenshot(page, "dashboard-light.png")
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("body.body--dark")).to_have_count(1)
    save_screenshot(page, "dashboard-dark.png")

    # The admin sets bob's budget to $0.10: bob has used 90% of it.
    page.goto(f"{url}/admin")
    expect(page.get_by_text("Team usage")).to_be_visible()
    expect(page.locator("div[_echarts_instance_]")).to_have_count(5)
    page.get_by_role("button", name="Set budget for bob").click()
    page.get_by_label("Monthly budget (USD)").fill("0.10")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_text("Budget: $0.10")).to_be_visible()

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    try:
        bob_page = context.new_page()
        bob_page.goto(f"{url}/login")
        bob_page.get_by_label("Username").fill("bob")
        bob_page.get_by_label("Password", exact=True).fill("password123")
        bob_page.keyboard.press("Enter")
        expect(bob_page.get_by_text("Welcome, bob")).to_be_visible()
        expect(bob_page.get_by_text("You have used 90% of your monthly budget")).to_be_visible()
    finally:
        context.close()
