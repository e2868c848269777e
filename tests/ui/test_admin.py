"""The admin page: members kept out, budgets set, demotion and disabling on open pages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from models import User as Account
from pages import shell
from services.accounts import admin
from services.accounts.admin import LAST_ADMIN
from tests.factories import make_user
from tests.ui.helpers import register
from tests.ui.test_dashboard import account


@pytest.fixture(autouse=True)
def fast_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-check sessions every 0.3 s instead of 15 s so tests see the effect quickly."""
    monkeypatch.setattr(shell, "RECHECK_SECONDS", 0.3)


async def wait_until(condition: Callable[[], object], seconds: float = 3.0) -> None:
    """Poll until `condition()` is truthy (handlers run in the background)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def bob_with_alice_as_admin(user: User) -> Account:
    """alice (the first account, admin) made by the service; bob signs up in the browser."""
    alice = make_user("alice")
    await register(user, "bob")
    await user.should_see("Welcome, bob", retries=30)
    return alice


async def test_member_cannot_reach_admin(user: User) -> None:
    await bob_with_alice_as_admin(user)
    await user.should_not_see("Admin")
    await user.open("/admin")
    await user.should_see("Page not found", retries=30)
    await user.should_not_see("Administration")


async def test_admin_sets_budget(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    make_user("bob")
    await user.open("/admin")
    await user.should_see("Administration", retries=30)
    await user.should_see("Team usage")
    user.find(marker="budget-bob").click()
    user.find("Monthly budget (USD)").type("0")
    user.find(kind=ui.button, content="Save budget").click()
    await user.should_see("Budget: $0.00", retries=30)
    assert account("bob").monthly_budget_micros == 0
    user.find(marker="budget-bob").click()
    user.find("Monthly budget (USD)").clear().type("-3")
    user.find(kind=ui.button, content="Save budget").click()
    budget_input = user.find("Monthly budget (USD)").elements.pop()
    await wait_until(lambda: budget_input.error)
    assert budget_input.error.startswith("A budget cannot be negative")
    assert account("bob").monthly_budget_micros == 0


async def test_disabling_signs_out_an_open_page(user: User) -> None:
    alice = await bob_with_alice_as_admin(user)
    admin.set_active(alice, account("bob").id, False)
    await user.should_see("Welcome back", retries=30)  # the sign-in page, without a reload


async def test_demotion_applies_to_an_open_admin_page(user: User) -> None:
    alice = await bob_with_alice_as_admin(user)
    admin.set_role(alice, account("bob").id, "admin")
    await user.open("/admin")
    await user.should_see("Administration", retries=150)
    admin.set_role(alice, account("bob").id, "member")
    # The page re-checks every 0.3 s and reloads; on a loaded machine that can take seconds.
    await user.should_see("Page not found", retries=300)
    await user.should_not_see("Administration", retries=50)


async def test_the_last_admins_refused_demotion_stays_readable(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    await user.open("/admin")
    await user.should_see("Administration", retries=150)
    user.find("New username").type("carol")  # a reload would empty this field
    user.find(marker="role-alice").click()
    await user.should_see(LAST_ADMIN, retries=150)
    await asyncio.sleep(1.5)  # several session re-checks (0.3 s) later: not reloaded away
    await user.should_see(LAST_ADMIN)
    assert user.find("New username").elements.pop().value == "carol"
    await user.should_see("Make member")
    assert account("alice").role == "admin"


async def test_registration_mode_and_invites(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    await user.open("/admin")
    await user.should_see("Administration", retries=30)
    user.find("Invite only: admins create accounts").click()
    await user.should_see("Sign-up setting saved")
    user.find("New username").type("carol")
    user.find("First password").type("password123")
    user.find(kind=ui.button, content="Create account").click()
    await user.should_see("Account carol created")
    await user.should_see("carol")
    user.find(marker="reset-carol").click()
    link_input = user.find(marker="reset-link").elements.pop()
    await wait_until(lambda: link_input.value)
    assert "/reset-password?token=" in link_input.value


async def test_admin_sets_limits(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    make_user("bob")
    await user.open("/admin")
    await user.should_see("Administration", retries=30)
    await user.should_see("Replies at once: 2 (default) · sends per minute: 30 (default)")
    user.find(marker="limits-bob").click()
    user.find(kind=ui.input, content="Replies at once").type("4")
    user.find(kind=ui.input, content="Sends per minute").type("many")
    user.find(kind=ui.button, content="Save limits").click()
    per_minute = user.find(kind=ui.input, content="Sends per minute").elements.pop()
    await wait_until(lambda: per_minute.error)
    assert per_minute.error.startswith("Enter a whole number from 1 to 1000")
    assert account("bob").max_concurrent_replies is None  # nothing saved on a bad form
    user.find(kind=ui.input, content="Sends per minute").clear().type("12")
    user.find(kind=ui.button, content="Save limits").click()
    await user.should_see("Replies at once: 4 · sends per minute: 12", retries=30)
    bob = account("bob")
    assert (bob.max_concurrent_replies, bob.sends_per_minute) == (4, 12)
    user.find(marker="limits-bob").click()
    user.find(kind=ui.input, content="Replies at once").clear()
    user.find(kind=ui.button, content="Save limits").click()
    await user.should_see("Replies at once: 2 (default) · sends per minute: 12", retries=30)
    assert account("bob").max_concurrent_replies is None
