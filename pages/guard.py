"""Who is signed in on a page: the session token in NiceGUI's user storage, checked per page.

The request-level half (a redirect for requests without a valid token) is the middleware in
`app/auth_guard.py`; this module is what pages use.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote, urlsplit

from nicegui import app, run, ui
from nicegui import storage as storage_module
from nicegui.persistence import PersistentDict
from nicegui.storage import USER_PREFIX, Storage
from starlette.requests import Request

from models import User
from services.accounts.sso import CALLBACK_PATH, START_PATH
from services.accounts.users import user_for_token

PUBLIC_PAGES = {"/login", "/register", "/forgot-password", "/reset-password"}
PUBLIC_PATHS = PUBLIC_PAGES | {"/health", "/session/start", START_PATH, CALLBACK_PATH}
# /api/ and /v1/ check their own Bearer API keys (and /api/docs the session).
PUBLIC_PREFIXES = ("/_nicegui", "/api/", "/v1/", "/static/")
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


def _page_request() -> Request | None:
    try:  # in a page or its handlers: the request that opened the page
        return ui.context.client.request
    except RuntimeError:
        return storage_module.request_contextvar.get()


def _session_storage(create: bool = False, request: Request | None = None) -> PersistentDict | None:
    """This browser's server-side storage; None while its session has none (with `create`,
    it gets one now). See app/session_storage.py."""
    request = request or _page_request()
    if request is None or "id" not in request.session:
        return None
    users = app.storage._users  # noqa: SLF001 (NiceGUI keeps user storages only here)
    session_id = request.session["id"]
    if session_id not in users and create:
        fresh = Storage._create_persistent_dict(f"{USER_PREFIX}{session_id}")  # noqa: SLF001
        fresh.initialize_sync()
        users[session_id] = fresh
    return users.get(session_id)


# Sign-in happens over the websocket, where no cookie can be set, so a new session id needs
# one HTTP round trip: the page hands its browser a one-time link (`start_session`), and
# `app/session_storage.py` answers it by moving the token into a fresh session. Until then the
# token waits here, in memory for a minute, known only to the page that signed in.
PENDING_SECONDS = 60.0
SESSION_START_PATH = "/session/start"
_pending: dict[str, tuple[str, float]] = {}


def start_session(token: str, target: str) -> str:
    """The link that signs this browser in under a new session id, then opens `target`.

    A session id planted in the browser before sign-in (session fixation) never carries the
    signed-in session, and the one-time nonce is sent only to the page that signed in.
    """
    now = time.monotonic()
    for nonce, (_, expires) in list(_pending.items()):
        if expires < now:
            del _pending[nonce]
    nonce = secrets.token_urlsafe(32)
    _pending[nonce] = (token, now + PENDING_SECONDS)
    return f"{SESSION_START_PATH}?nonce={nonce}&next={quote(safe_next(target), safe='/')}"


def take_pending_token(nonce: str) -> str | None:
    """The token waiting under this nonce (once), or None when unknown or expired."""
    token, expires = _pending.pop(nonce, (None, 0.0))
    return token if token is not None and expires >= time.monotonic() else None


def stored_token(request: Request | None = None) -> str | None:
    """The session token kept for this browser (of `request`, else of this page), if any."""
    storage = _session_storage(request=request)
    return storage.get(TOKEN_KEY) if storage is not None else None


def sign_in(token: str) -> None:
    """Keep a fresh token for this browser's current session (e.g. after a password change)."""
    storage = _session_storage(create=True)
    if storage is not None:
        storage[TOKEN_KEY] = token


def sign_out() -> None:
    """Forget the session token in this browser."""
    storage = _session_storage()
    if storage is not None:
        storage.pop(TOKEN_KEY, None)


async def current_user() -> User | None:
    """The signed-in user, checked against the database (revoked or disabled -> None)."""
    token = stored_token()
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
