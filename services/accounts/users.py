"""Accounts: registration, sign-in, session validation and sign-out. Blocking: run off the loop."""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from core.config import get_settings
from core.db import session_scope
from core.errors import AuthError, RateLimited, ValidationError
from models import AppSetting, Role, User, utcnow
from services.accounts import audit
from services.accounts.security import (
    AttemptLimiter,
    decode_token,
    hash_password,
    issue_token,
    verify_password,
)
from services.runtime import shared
from services.runtime.attempts import SharedAttemptLimiter

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
# Far beyond any passphrase; passlib refuses more than 4,096 bytes anyway.
MAX_PASSWORD_LENGTH = 1024
FIRST_ADMIN_KEY = "first_admin"
REGISTRATION_MODE_KEY = "registration_mode"
BAD_CREDENTIALS = "Wrong username or password."

_limits: SignInLimits | None = None


class RegistrationMode(StrEnum):
    """Who may create an account."""

    open = "open"
    invite = "invite"
    closed = "closed"


class SignInLimits:
    """Failed sign-ins counted per username + address, per username, and per address.

    The tight limit is per username *and* address, so a stranger's guesses lock out neither
    the owner elsewhere nor a whole office behind one NAT address. A username-wide limit
    stops guessing spread over many addresses; the address-wide ceiling is far higher and
    only stops one address from sweeping many usernames. Windows are fixed (see
    AttemptLimiter), so a lock always ends, and the refusal says when.
    """

    def __init__(self, pair: int, account: int, address: int, window_seconds: float) -> None:
        # Shared by every instance when they share a Redis; else counted in this process.
        if shared.enabled():
            self.limiters = (
                SharedAttemptLimiter("pair", pair, window_seconds),
                SharedAttemptLimiter("account", account, window_seconds),
                SharedAttemptLimiter("address", address, window_seconds),
            )
        else:
            self.limiters = (
                AttemptLimiter(pair, window_seconds),
                AttemptLimiter(account, window_seconds),
                AttemptLimiter(address, window_seconds),
            )

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str, str]:
        """The key of each limiter for this attempt."""
        return f"{name}|{address}", name, address

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until this username may try again from this address (0: now)."""
        keys = self.keys(name, address)
        return max(
            limiter.retry_after(key) for limiter, key in zip(self.limiters, keys, strict=True)
        )

    def fail(self, name: str, address: str) -> None:
        """Count one failure on every key."""
        for limiter, key in zip(self.limiters, self.keys(name, address), strict=True):
            limiter.fail(key)

    def succeed(self, name: str, address: str) -> None:
        """The right password: forget this username's failures (not the address's)."""
        pair, account, _ = self.keys(name, address)
        self.limiters[0].clear(pair)
        self.limiters[1].clear(account)


def login_limits() -> SignInLimits:
    """The process-wide failed sign-in limits, from the LOGIN_* settings."""
    global _limits
    if _limits is None:
        settings = get_settings()
        _limits = SignInLimits(
            settings.login_attempts,
            settings.login_account_attempts,
            settings.login_address_attempts,
            settings.login_window_minutes * 60,
        )
    return _limits


def reset_login_limiter() -> None:
    """Forget every recorded failure (tests; settings changes)."""
    global _limits
    _limits = None


def too_many_attempts(seconds: float) -> RateLimited:
    """The refusal of a locked sign-in, saying when to try again (minutes, and UTC time)."""
    minutes = max(1, math.ceil(seconds / 60))
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return RateLimited(
        f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''} "
        f"(at {at:%H:%M} UTC).",
        retry_after=seconds,
    )


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively: store and look up lower-case."""
    return username.strip().lower()


def validate_username(username: str) -> str:
    """The normalized username, or ValidationError with a message for the field."""
    name = normalize_username(username)
    if not name:
        raise ValidationError("Enter a username.", "username")
    if not USERNAME_RE.match(name):
        raise ValidationError("Use 3-32 characters: letters, digits, '_', '.' or '-'.", "username")
    return name


def validate_email(email: str | None) -> str | None:
    """The trimmed email (None when empty), or ValidationError."""
    value = (email or "").strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValidationError("Enter a valid email address, or leave it empty.", "email")
    return value


def validate_new_password(password: str, confirm: str | None = None) -> None:
    """Raise ValidationError when a new password is too short or not confirmed."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Use at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"Use at most {MAX_PASSWORD_LENGTH:,} characters.", "password")
    if confirm is not None and confirm != password:
        raise ValidationError("The passwords do not match.", "confirm")


def registration_mode() -> RegistrationMode:
    """The current mode: the admin's choice, else ALLOW_REGISTRATION."""
    with session_scope() as session:
        row = session.get(AppSetting, REGISTRATION_MODE_KEY)
    if row is not None:
        return RegistrationMode(row.value)
    return RegistrationMode.open if get_settings().allow_registration else RegistrationMode.closed


def is_first_user() -> bool:
    """True while no account exists (the first one becomes admin, even when closed)."""
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(User)).one() == 0


def register(
    username: str, password: str, confirm: str | None = None, email: str | None = None
) -> User:
    """Create an account by self-service sign-up (respects the registration mode)."""
    if not password_sign_in_allowed():
        raise ValidationError(SSO_ONLY)
    if registration_mode() is not RegistrationMode.open and not is_first_user():
        raise ValidationError("Sign-up is closed. Ask an administrator for an account.")
    return create_user(username, password, confirm, email)


def create_user(
    username: str, password: str, confirm: str | None = None, email: str | None = None
) -> User:
    """Create an account; the very first account becomes admin (race-free claim)."""
    name = validate_username(username)
    mail = validate_email(email)
    validate_new_password(password, confirm)
    password_hash = hash_password(password, get_settings().bcrypt_rounds)
    try:
        with session_scope() as session:
            if _username_taken(session, name):
                raise ValidationError("That username is taken.", "username")
            user = User(
                username=name, email=mail, password_hash=password_hash, last_active_at=utcnow()
            )
            session.add(user)
            session.flush()
            if claim_first_admin(session, user):
                user.role = Role.admin
            return user
    except IntegrityError as exc:
        raise ValidationError("That username is taken.", "username") from exc


def _username_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(User.username == name)
    if except_id is not None:
        query = query.where(User.id != except_id)
    return session.exec(query).first() is not None


def claim_first_admin(session: Session, user: User) -> bool:
    """Make `user` admin when they are the team's first account (sign-up and SSO)."""
    # The claim row's primary key makes concurrent first sign-ups race-free: one insert wins.
    try:
        with session.begin_nested():
            session.add(AppSetting(key=FIRST_ADMIN_KEY, value=str(user.id)))
        return True
    except IntegrityError:
        return False


SSO_ONLY = "This team signs in with single sign-on only."


def password_sign_in_allowed() -> bool:
    """False in SSO-only mode (OIDC_ONLY with single sign-on configured)."""
    settings = get_settings()
    return not (settings.oidc_only and settings.oidc_enabled)


def authenticate(username: str, password: str, address: str = "") -> User:
    """Check credentials, limited per username + address, per username and per address.

    Every failure and every refusal is written to the audit log (never the password).
    """
    if not password_sign_in_allowed():
        audit.record("signin.failed", username[:64], address, logging.WARNING, reason="sso only")
        raise AuthError(SSO_ONLY)
    name = normalize_username(username)[:64]  # bounded keys: the limiter's memory stays small
    limits = login_limits()
    wait = limits.retry_after(name, address)
    if wait > 0:
        audit.record("signin.locked", name, address, logging.WARNING, retry_after=int(wait))
        raise too_many_attempts(wait)
    rounds = get_settings().bcrypt_rounds
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == name)).first()
        if user is None:
            # Same work as a real check, so timing does not reveal unknown usernames.
            verify_password(password, _dummy_hash(rounds), rounds)
            ok, new_hash = False, None
        else:
            ok, new_hash = verify_password(password, user.password_hash, rounds)
        if not ok or user is None or not user.is_active:
            limits.fail(name, address)
            reason = "unknown user" if user is None else "wrong password" if not ok else "disabled"
            audit.record(
                "signin.failed", name, address, logging.WARNING, method="password", reason=reason
            )
            raise AuthError(BAD_CREDENTIALS)
        if new_hash:
            user.password_hash = new_hash
        user.last_active_at = utcnow()
        session.add(user)
    limits.succeed(name, address)
    audit.record("signin.ok", user, address, method="password")
    return user


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(rounds: int) -> str:
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = hash_password("not-a-real-password", rounds)
    return _DUMMY_HASHES[rounds]


def session_token(user: User) -> str:
    """A fresh session token for this user."""
    settings = get_settings()
    return issue_token(
        user.id, user.token_version, settings.resolved_secret_key(), settings.access_token_minutes
    )


def user_for_token(token: str | None) -> User | None:
    """The active user a token belongs to, or None (expired, revoked, disabled, tampered)."""
    if not token:
        return None
    claims = decode_token(token, get_settings().resolved_secret_key())
    if claims is None:
        return None
    with session_scope() as session:
        user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        return None
    return user


def revoke_sessions(user_id: int) -> None:
    """Bump token_version: every token issued before stops working at once."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AuthError("Unknown user")
        user.token_version += 1
        user.updated_at = utcnow()
        session.add(user)


def set_theme(user_id: int, theme: str) -> None:
    """Remember the user's light/dark preference."""
    if theme not in ("auto", "light", "dark"):
        raise ValidationError("Unknown theme.", "theme")
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.theme = theme
            session.add(user)
