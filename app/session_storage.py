"""Server-side sessions: none for requests without one, a new session id at every sign-in.

NiceGUI's request middleware creates a user storage for every request without a session
cookie: a dict and a file entry, or with `NICEGUI_REDIS_URL` a Redis connection with a pub/sub
listener, held as long as a client of that session lives (60 s for a page whose websocket
never connects). Health checks, bots and scanners send nothing but such requests, so memory
and Redis connections grew with them (2,000 requests to /health: 2,000 Redis connections).

Here a request without a session still gets its session id (the cookie a later sign-in needs)
but no storage. The storage is created when a session first has something to keep, at
sign-in (`pages.guard.sign_in`), and NiceGUI's middleware loads it as before for every request
that comes back with the cookie. Code that reads the storage goes through `pages.guard`, which
treats a session without storage as signed out.

Sign-in moves the token into a new session id (`GET /session/start`, the one-time link
`pages.guard.start_session` hands the page), so an id planted beforehand is worthless.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from nicegui import app
from nicegui import storage as nicegui_storage
from nicegui.storage import USER_PREFIX, Storage
from starlette.responses import Response

from pages.guard import (
    PUBLIC_PAGES,
    SESSION_START_PATH,
    TOKEN_KEY,
    safe_next,
    take_pending_token,
)

_original_dispatch = nicegui_storage.RequestTrackingMiddleware.dispatch


# A page (a NiceGUI client, ~100-300 KiB until it is pruned a minute later) is built only for
# a request that comes back with the session cookie: the first, cookieless GET of a public page
# is answered by a redirect to itself that sets the cookie. Browsers follow it at once; health
# checks and scanners that keep no cookies never cost a page. A client that follows without
# the cookie (cookies disabled) gets a short note instead of a redirect loop.
COOKIE_CHECK = "cookie_check"
NEEDS_COOKIES = (
    "<!doctype html><title>Assistant Studio</title>"
    "<p>Assistant Studio needs cookies to sign you in. Please allow cookies for this site and "
    "reload the page.</p>"
)


async def _dispatch(self, request: Request, call_next) -> Response:  # noqa: ANN001
    if "id" in request.session:
        return await _original_dispatch(self, request, call_next)
    nicegui_storage.request_contextvar.set(request)
    request.session["id"] = str(uuid.uuid4())
    request.state.responded = False
    request.state.anonymous = True  # no page, no storage for this request
    if request.method == "GET" and request.url.path in PUBLIC_PAGES:
        if COOKIE_CHECK in request.query_params:
            return HTMLResponse(NEEDS_COOKIES, headers={"Cache-Control": "no-store"})
        query = request.url.query
        target = f"{request.url.path}?{query + '&' if query else ''}{COOKIE_CHECK}=1"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response = await call_next(request)
    request.state.responded = True
    return response


def is_anonymous(request: Request) -> bool:
    """True for a request that arrived without a session (it gets no page and no storage)."""
    return getattr(request.state, "anonymous", False)


def defer_user_storage() -> None:
    """Install the storage-free path for session-less requests (idempotent)."""
    nicegui_storage.RequestTrackingMiddleware.dispatch = _dispatch


async def start_session(request: Request, nonce: str = "", next: str = "/") -> RedirectResponse:  # noqa: A002
    """Finish a sign-in: the token moves into a brand-new session id, the old one is dropped."""
    token = take_pending_token(nonce)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    users = app.storage._users  # noqa: SLF001 (NiceGUI keeps user storages only here)
    old = users.pop(request.session.get("id", ""), None)
    if old is not None:
        old.clear()  # nothing of the anonymous session survives sign-in
        await old.close()
    session_id = request.session["id"] = str(uuid.uuid4())  # the response sets the new cookie
    fresh = Storage._create_persistent_dict(f"{USER_PREFIX}{session_id}")  # noqa: SLF001
    await fresh.initialize()
    fresh[TOKEN_KEY] = token
    users[session_id] = fresh
    return RedirectResponse(safe_next(next), status_code=303)


def register_session_routes() -> None:
    """Install the storage-free path and mount the sign-in route (from `app.startup.setup`)."""
    defer_user_storage()
    app.add_api_route(SESSION_START_PATH, start_session, methods=["GET"])
