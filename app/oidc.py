"""Single sign-on routes: `GET /auth/oidc/start` and `/auth/oidc/callback` (OpenID Connect).

Authorization code with PKCE (S256) through Authlib's Starlette client: `start` discovers the
issuer (at sign-in, never at start-up, so the app runs while the issuer is down), keeps state,
nonce and the PKCE verifier in the signed session cookie and sends the browser to the
provider; `callback` checks the state, exchanges the code with the verifier and verifies the
id token (signature against the issuer's JWKS, `iss`, `aud`, `exp`, `nonce`). The verified
claims go to `services.accounts.sso.sign_in`, and the sign-in ends in the app's normal
session through the one-time `/session/start` hand-off. Any failure lands on the sign-in
page with a message keyed by `sso_error` (never text from the provider).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx2
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from nicegui import app, run

from core.config import Settings, get_settings
from core.errors import AuthError
from pages.guard import safe_next, start_session
from services.accounts import audit, sso
from services.accounts.users import session_token

log = logging.getLogger(__name__)

NEXT_KEY = "oidc_next"
TIMEOUT_SECONDS = 10.0
_clients: dict[tuple[str, ...], StarletteOAuth2App] = {}


def _client(settings: Settings) -> StarletteOAuth2App:
    """The Authlib client for the configured provider (metadata and keys cached in it)."""
    key = (
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.oidc_scopes,
    )
    if key not in _clients:
        oauth = OAuth()
        _clients[key] = oauth.register(
            "oidc",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,
            server_metadata_url=settings.oidc_issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": TIMEOUT_SECONDS,
            },
        )
    return _clients[key]


def _redirect_uri(request: Request, settings: Settings) -> str:
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return base + sso.CALLBACK_PATH


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _refused(request: Request, key: str, detail: str = "") -> RedirectResponse:
    """Audit the failed sign-in and show why on the sign-in page."""
    audit.record(
        "signin.failed",
        None,
        _address(request),
        logging.WARNING,
        method="sso",
        reason=key,
        detail=detail[:200],
    )
    target = request.session.pop(NEXT_KEY, "/")
    query = f"sso_error={key}" + (f"&next={quote(target, safe='/')}" if target != "/" else "")
    return RedirectResponse(f"/login?{query}", status_code=303)


async def oidc_start(request: Request, next: str = "/") -> RedirectResponse:  # noqa: A002
    """Send the browser to the provider (discovery happens now, not at start-up)."""
    settings = get_settings()
    if not settings.oidc_enabled:
        return _refused(request, "off")
    request.session[NEXT_KEY] = safe_next(next)
    try:
        return await _client(settings).authorize_redirect(request, _redirect_uri(request, settings))
    except (httpx2.HTTPError, ValueError, KeyError, OAuthError) as exc:
        log.warning("Single sign-on discovery at %s failed: %s", settings.oidc_issuer, exc)
        return _refused(request, "unreachable", type(exc).__name__)


async def oidc_callback(request: Request) -> RedirectResponse:
    """Check the provider's answer, verify the id token, then start the app's session."""
    settings = get_settings()
    if not settings.oidc_enabled:
        return _refused(request, "off")
    if request.query_params.get("error"):
        return _refused(request, "denied", request.query_params["error"])
    try:
        token = await _client(settings).authorize_access_token(request)
    except MismatchingStateError:
        return _refused(request, "state")
    except OAuthError as exc:  # the token endpoint said no (invalid_grant: expired or used)
        return _refused(request, "code", exc.error or "")
    except JoseError as exc:  # signature, iss, aud, exp or nonce
        return _refused(request, "token", type(exc).__name__)
    except httpx2.HTTPError as exc:
        return _refused(request, "unreachable", type(exc).__name__)
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):  # no id token: not OpenID Connect
        return _refused(request, "token", "no id_token")
    try:
        user = await run.io_bound(sso.sign_in, dict(claims), _address(request))
    except AuthError:
        return _refused(request, "disabled")
    target = request.session.pop(NEXT_KEY, "/")
    hand_off = start_session(await run.io_bound(session_token, user), target)
    return RedirectResponse(hand_off, status_code=303)


def register_oidc_routes() -> None:
    """Mount the two routes (from `app.startup.setup`); they answer even when SSO is off."""
    app.add_api_route(sso.START_PATH, oidc_start, methods=["GET"])
    app.add_api_route(sso.CALLBACK_PATH, oidc_callback, methods=["GET"])
