"""Profile and password reset pages through NiceGUI's simulated user."""

from __future__ import annotations

import logging
import re

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from core.db import session_scope
from models import User as Account
from services.accounts import password_reset
from services.accounts import users as accounts
from tests.factories import make_user
from tests.ui.helpers import register, sign_in
from tests.ui.test_admin import wait_until
from tests.ui.test_dashboard import account


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    password_reset.reset_limits()


async def signed_in(user: User, name: str = "alice") -> None:
    await register(user, name)
    await user.should_see(f"Welcome, {name}", retries=30)
    await user.open("/profile")
    await user.should_see("Delete account", retries=30)


async def test_change_username_and_email(user: User) -> None:
    await signed_in(user)
    user.find("Username").clear().type("alice2")
    user.find("Email").type("a@example.com")
    user.find(kind=ui.button, content="Save profile").click()
    await user.should_see("Profile saved", retries=30)
    await wait_until(lambda: account_named("alice2"))
    assert account_named("alice2").email == "a@example.com"


def account_named(name: str) -> Account | None:
    with session_scope() as session:
        return session.exec(select(Account).where(Account.username == name)).first()


async def test_change_password_keeps_this_session(user: User) -> None:
    await signed_in(user)
    old_token = accounts.session_token(account("alice"))
    user.find("Current password").type("wrong-password")
    user.find("New password").type("new-password-1")
    user.find("Confirm new password").type("new-password-1")
    user.find(kind=ui.button, content="Change password").click()
    current = user.find("Current password").elements.pop()
    await wait_until(lambda: current.error)
    assert "not correct" in current.error
    user.find("Current password").clear().type("password123")
    user.find(kind=ui.button, content="Change password").click()
    await user.should_see("Password changed. Other sessions were signed out.", retries=30)
    assert accounts.user_for_token(old_token) is None
    await user.open("/")
    await user.should_see("Welcome, alice", retries=30)  # this session continues


async def test_delete_account_needs_the_password(user: User) -> None:
    make_user("root")  # the admin, so alice may leave
    await signed_in(user)
    user.find(kind=ui.button, content="Delete my account").click()
    user.find("Your password").type("alice")
    user.find(kind=ui.button, content="Delete forever").click()
    await user.should_see("Your password is not correct.", retries=30)
    user.find("Your password").clear().type("password123")
    user.find(kind=ui.button, content="Delete forever").click()
    await user.should_see("Welcome back", retries=30)
    assert account_named("alice") is None


async def test_last_admin_cannot_delete_themselves(user: User) -> None:
    await signed_in(user)
    user.find(kind=ui.button, content="Delete my account").click()
    user.find("Your password").type("password123")
    user.find(kind=ui.button, content="Delete forever").click()
    await user.should_see("You are the last administrator", retries=30)


async def test_forgot_and_reset_password(user: User, caplog: pytest.LogCaptureFixture) -> None:
    make_user("alice")
    await user.open("/login")
    user.find("Forgot password?").click()
    await user.should_see("Forgot your password?", retries=30)
    with caplog.at_level(logging.INFO, logger="services.accounts.password_reset"):
        user.find("Username or email").type("alice")
        user.find(kind=ui.button, content="Send reset link").click()
        await user.should_see("If an account matches", retries=30)
        password_reset.wait_for_mail()
    link = next(r.getMessage() for r in caplog.records if "reset-password?token=" in r.getMessage())
    token = re.search(r"token=([\w-]+)", link).group(1)
    # Unknown accounts get the very same answer.
    await user.open("/forgot-password")
    user.find("Username or email").type("nobody")
    user.find(kind=ui.button, content="Send reset link").click()
    await user.should_see("If an account matches", retries=30)

    await user.open(f"/reset-password?token={token}")
    user.find("New password").type("fresh-password-9")
    user.find("Confirm new password").type("fresh-password-9")
    user.find(kind=ui.button, content="Set new password").click()
    await user.should_see("Welcome back", retries=30)
    await sign_in(user, "alice", "fresh-password-9")
    await user.should_see("Welcome, alice", retries=30)
    await user.open(f"/reset-password?token={token}")
    await user.should_see("invalid, already used or expired", retries=30)
