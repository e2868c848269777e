"""Single sign-on accounts: who an OpenID Connect identity is here, created on first sign-in.

The protocol (discovery, state, nonce, PKCE, the code exchange and the id token's signature,
`iss`, `aud` and `exp`) is handled in `app/oidc.py` with Authlib; this module takes the
verified claims. An identity links by the issuer's `sub`; an existing account is linked by
email only when the provider marks the email verified (else anyone who can set an email at
the provider could take over the account). New accounts get the member role (the very first
account of a team becomes admin, as with sign-up) and no usable password.
"""

from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import urlsplit

from sqlmodel import Session, func, select

from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import AuthError
from models import OidcIdentity, Role, User, utcnow
from services.accounts import audit, groups
from services.accounts import users as accounts

START_PATH = "/auth/oidc/start"
CALLBACK_PATH = "/auth/oidc/callback"

# Not a hash any scheme accepts: a password sign-in as an SSO-made account always fails.
NO_PASSWORD = "!sso"

# What the sign-in page says for each way a single sign-on can fail (the URL carries only
# the key, so no text from outside is ever shown).
SSO_ERRORS = {
    "unreachable": "The sign-in provider could not be reached, so single sign-on is not "
    "available right now. Try again in a minute, or ask an administrator to check OIDC_ISSUER.",
    "state": "This sign-in was not started from this browser or took too long (its state did "
    "not match), so it was refused. Please start again.",
    "code": "The sign-in provider refused to confirm this sign-in (the code was invalid, used "
    "or expired). Please start again.",
    "token": "The identity token from the sign-in provider could not be verified (signature, "
    "issuer, audience, nonce or expiry), so you were not signed in.",
    "denied": "The sign-in was cancelled or refused at the provider.",
    "disabled": "This account is disabled. Ask an administrator.",
    "off": "Single sign-on is not set up on this server.",
}


def provider_label(settings: Settings | None = None) -> str:
    """The name on the "Sign in with …" button: OIDC_PROVIDER_NAME, else the issuer's host."""
    settings = settings or get_settings()
    return settings.oidc_provider_name or urlsplit(settings.oidc_issuer).hostname or "SSO"


def claimed_groups(claims: dict, settings: Settings | None = None) -> list[str]:
    """The group names in the OIDC_GROUPS_CLAIM claim (a list, or one name)."""
    value = claims.get((settings or get_settings()).oidc_groups_claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _username_base(claims: dict) -> str:
    for candidate in (
        claims.get("preferred_username"),
        str(claims.get("email") or "").split("@")[0],
        claims.get("name"),
    ):
        text = re.sub(r"[^a-z0-9_.-]+", "-", str(candidate or "").strip().lower()).strip("-.")
        if len(text) >= 3:
            return text[:28]
    return "user"


def _free_username(session: Session, base: str) -> str:
    taken = set(session.exec(select(User.username).where(User.username.like(f"{base}%"))).all())
    if base not in taken:
        return base
    for number in range(2, 10_000):
        if f"{base}{number}" not in taken:
            return f"{base}{number}"
    return f"{base[:20]}-{secrets.token_hex(4)}"


def _linked_user(session: Session, issuer: str, subject: str) -> tuple[User | None, OidcIdentity]:
    identity = session.exec(
        select(OidcIdentity).where(OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
    ).first()
    if identity is not None:
        return session.get(User, identity.user_id), identity
    return None, OidcIdentity(user_id=0, issuer=issuer, subject=subject)


def _verified_email(claims: dict) -> str | None:
    email = str(claims.get("email") or "").strip()
    return email if email and claims.get("email_verified") is True else None


def sign_in(claims: dict, address: str = "") -> User:
    """The account for these verified id token claims: linked, or created on first sign-in.

    Links by `iss` + `sub`; else to the account with the same email when the provider says
    `email_verified`; else creates one. Syncs the groups claim. AuthError for a disabled
    account. Every outcome is audited.
    """
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    email = _verified_email(claims)
    with session_scope() as session:
        user, identity = _linked_user(session, issuer, subject)
        how = "sub"
        if user is None and email:
            user = session.exec(select(User).where(func.lower(User.email) == email.lower())).first()
            how = "verified email"
        created = user is None
        if user is None:
            how = "created"
            mail = email or (str(claims.get("email") or "").strip() or None)
            user = User(
                username=_free_username(session, _username_base(claims)),
                email=accounts.validate_email(mail) if mail and len(mail) <= 254 else None,
                password_hash=NO_PASSWORD,
            )
            session.add(user)
            session.flush()
            if accounts.claim_first_admin(session, user):
                user.role = Role.admin
        if not user.is_active:
            audit.record(
                "signin.failed", user, address, logging.WARNING, method="sso", reason="disabled"
            )
            raise AuthError(SSO_ERRORS["disabled"])
        identity.user_id = user.id
        identity.last_signin_at = utcnow()
        session.add(identity)
        user.last_active_at = utcnow()
        session.add(user)
        joined = groups.sync_claimed_groups(session, user, claimed_groups(claims))
        audit.record(
            "signin.ok",
            user,
            address,
            session=session,
            method="sso",
            issuer=issuer,
            linked_by=how,
            created=created,
            groups_joined=joined,
        )
        return user
