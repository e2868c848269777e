"""The page guard: middleware for every request, plus a check inside the logged-in shell."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, run, ui
from starlette.middleware.base import BaseHTTPMiddleware

from app.config import get_settings
from models import User
from services.accounts import user_for_token
from services.auth import decode_token

PUBLIC_PATHS = {"/login", "/register", "/forgot-password", "/reset-password", "/health"}
PUBLIC_PREFIXES = ("/_nicegui", "/api/", "/static/")
TOKEN_KEY = "token"
# Routes that check a Bearer token themselves (API clients have no session cookie).
BEARER_PREFIXES = ("/files/",)


def is_public(path: str) -> bool:
    """Paths anyone may open without signing in."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def checks_own_bearer(request: Request) -> bool:
    """True for a Bearer request to a route that authenticates it itself."""
    authorization = request.headers.get("authorization", "")
    return request.url.path.startswith(BEARER_PREFIXES) and authorization[:7].lower() == "bearer "


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


class AuthMiddleware(BaseHTTPMiddleware):
    """Sends requests without a valid (signed, unexpired) token to the sign-in page.

    Revocation (token_version, disabled users) is checked against the database by
    `require_user()` in every page, which the shell also re-runs periodically.
    """

    async def dispatch(self, request: Request, call_next):  # noqa: ANN201
        path = request.url.path
        if not is_public(path) and not checks_own_bearer(request):
            token = app.storage.user.get(TOKEN_KEY)
            if not token or decode_token(token, get_settings().resolved_secret_key()) is None:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(login_url(target))
        return await call_next(request)


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
