"""Page-side wiring of the logged-in shell: the signed-in page decorator, sign-out, theme,
live re-checks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from nicegui import run, ui

from components.layout import ShellUser, app_shell
from core.config import get_settings
from models import Role, User
from pages.guard import current_user, require_user, sign_out
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
        if fresh is not None and fresh.role == user.role:
            return
        # Leave once: a page waiting for its reload must not ask again on every tick.
        timer.cancel()
        if fresh is None:
            sign_out()
            ui.navigate.to("/login")
        else:
            ui.navigate.reload()

    ui.page_title(f"{active} · Assistant Studio")
    shell_user = ShellUser(user.username, user.role == Role.admin, user.theme)
    with app_shell(shell_user, active, on_logout, on_theme, get_settings().demo_mode) as main:
        yield main
        # Only after the page's content: a timer waits for the browser's connection, and
        # NiceGUI then sends the page as drawn so far, before the content (and its
        # `use_static` scripts, which only run when they are in the first response).
        timer = ui.timer(RECHECK_SECONDS, recheck)


PageBody = Callable[..., Awaitable[None]]


def signed_in_page(path: str, active: str) -> Callable[[PageBody], PageBody]:
    """`@ui.page(path)` for signed-in users, drawn inside the shell with `active` highlighted.

    The decorated function gets the acting user first, then the route's own parameters. A
    browser without a valid session goes to the sign-in page (and back here afterwards), and
    the function never runs: the user is looked up in this one place (`require_user`).
    """

    def register(body: PageBody) -> PageBody:
        signature = inspect.signature(body)
        route_parameters = list(signature.parameters.values())[1:]  # all but the user

        @functools.wraps(body)
        async def page(*args: object, **kwargs: object) -> None:
            user = await require_user()
            if user is None:
                return
            with shell(user, active):
                await body(user, *args, **kwargs)

        # NiceGUI (and FastAPI) read the route's path and query parameters from this.
        page.__signature__ = signature.replace(parameters=route_parameters)  # type: ignore[attr-defined]
        return ui.page(path)(page)

    return register
