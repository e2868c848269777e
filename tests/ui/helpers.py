"""Shared steps for UI tests with NiceGUI's simulated user."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User


async def register(
    user: User, name: str, password: str = "password123", confirm: str | None = None
) -> None:
    """Fill and submit the sign-up form (the first account becomes the admin)."""
    await user.open("/register")
    user.find("Username").type(name)
    user.find("Password").type(password)
    user.find("Confirm password").type(confirm or password)
    user.find(kind=ui.button, content="Create account").click()


async def sign_in(user: User, name: str, password: str = "password123") -> None:
    """Fill and submit the sign-in form."""
    await user.open("/login")
    user.find("Username").type(name)
    user.find("Password").type(password)
    user.find(kind=ui.button, content="Sign in").click()


async def log_out(user: User) -> None:
    """Sign out through the user menu and wait for the sign-in page."""
    user.find(marker="user-menu").click()
    user.find("Log out").click()
    await user.should_see("Welcome back", retries=20)


async def signed_up(user: User, name: str) -> None:
    """Register `name` and wait for the dashboard."""
    await register(user, name)
    await user.should_see(f"Welcome, {name}", retries=50)
