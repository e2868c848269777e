"""Page-side wiring of the logged-in shell: guard, sign-out, theme, live re-checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import run, ui

from components.layout import ShellUser, app_shell
from core.config import get_settings
from models import Role, User
from pages.guard import current_user, sign_out
from services.accounts.users import revoke_sessions, set_theme

RECHECK_SECONDS = 15.0


async def log_out(user_id: int) -> None:
    """End every session of this user (token_version bump) and go to the sign-in page."""
    await run.io_bound(revoke_sessions, user_id)
    sign_out()
    ui.navigate.to("/login")


@contextmanager
def shell(user: User, active: str) -> Iterator[ui.column]:
    """The logged-in layout for `user`; re-checks the session so revocation applies at once."""

    async def on_logout() -> None:
        await log_out(user.id)

    async def on_theme(theme: str) -> None:
        await run.io_bound(set_theme, user.id, theme)

    async def recheck() -> None:
        fresh = await current_user()
        if fresh is None:
            sign_out()
            ui.navigate.to("/login")
        elif fresh.role != user.role:
            ui.navigate.reload()

    ui.page_title(f"{active} · Assistant Studio")
    shell_user = ShellUser(user.username, user.role == Role.admin, user.theme)
    with app_shell(shell_user, active, on_logout, on_theme, get_settings().demo_mode) as main:
        ui.timer(RECHECK_SECONDS, recheck)
        yield main
