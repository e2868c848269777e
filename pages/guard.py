"""Who is signed in on a page: the session token in NiceGUI's user storage, checked per page.

The request-level half (a redirect for requests without a valid token) is the middleware in
`app/auth_guard.py`; this module is what pages use.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from nicegui import app, run, ui

from models import User
from services.accounts.users import user_for_token

PUBLIC_PATHS = {"/login", "/register", "/forgot-password", "/reset-password", "/health"}
PUBLIC_PREFIXES = ("/_nicegui", "/api/", "/static/")
TOKEN_KEY = "token"


def is_public(path: str) -> bool:
    """Paths anyone may open without signing in."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or is_public(parts.path):
        return "/"
    return target


def login_url(path: str) -> str:
    """The sign-in URL that returns to `path` afterwards."""
    return "/login" if path in ("", "/") else f"/login?next={quote(path, safe='/')}"


def sign_in(token: str) -> None:
    """Keep the session token in the server-side user storage."""
    app.storage.user[TOKEN_KEY] = token


def sign_out() -> None:
    """Forget the session token in this browser."""
    app.storage.user.pop(TOKEN_KEY, None)


async def current_user() -> User | None:
    """The signed-in user, checked against the database (revoked or disabled -> None)."""
    token = app.storage.user.get(TOKEN_KEY)
    if not token:
        return None
    return await run.io_bound(user_for_token, token)


async def require_user() -> User | None:
    """The signed-in user, or None after sending the browser to the sign-in page."""
    user = await current_user()
    if user is None:
        sign_out()
        request = ui.context.client.request
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        ui.navigate.to(login_url(path))
    return user
