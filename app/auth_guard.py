"""The request guard: every non-public request needs a signed, unexpired session token."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.middleware.base import BaseHTTPMiddleware

from core.config import get_settings
from pages.guard import is_public, login_url, stored_token
from services.accounts.security import decode_token

# Routes that check a Bearer token themselves (API clients have no session cookie).
BEARER_PREFIXES = ("/files/",)
# Share links decide themselves: a public link opens without signing in (services/chat/shares.py).
SELF_GUARDED_PREFIXES = ("/share/",)


def checks_own_bearer(request: Request) -> bool:
    """True for a Bearer request to a route that authenticates it itself."""
    authorization = request.headers.get("authorization", "")
    return request.url.path.startswith(BEARER_PREFIXES) and authorization[:7].lower() == "bearer "


class AuthMiddleware(BaseHTTPMiddleware):
    """Sends requests without a valid (signed, unexpired) token to the sign-in page.

    Revocation (token_version, disabled users) is checked against the database by
    `require_user()` in every page, which the shell also re-runs periodically.
    """

    async def dispatch(self, request: Request, call_next):  # noqa: ANN201
        path = request.url.path
        if (
            not is_public(path)
            and not checks_own_bearer(request)
            and not path.startswith(SELF_GUARDED_PREFIXES)
        ):
            token = stored_token(request)
            if not token or decode_token(token, get_settings().resolved_secret_key()) is None:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(login_url(target))
        return await call_next(request)
