"""Accounts: registration, sign-in, session validation and sign-out. Blocking: run off the loop."""

from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from core.config import get_settings
from core.db import session_scope
from core.errors import AuthError, RateLimited, ValidationError
from models import AppSetting, Role, User, utcnow
from services.accounts.security import (
    AttemptLimiter,
    decode_token,
    hash_password,
    issue_token,
    verify_password,
)

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
# Far beyond any passphrase; passlib refuses more than 4,096 bytes anyway.
MAX_PASSWORD_LENGTH = 1024
FIRST_ADMIN_KEY = "first_admin"
REGISTRATION_MODE_KEY = "registration_mode"
BAD_CREDENTIALS = "Wrong username or password."
TOO_MANY_ATTEMPTS = "Too many failed sign-ins. Wait a few minutes and try again."

_limiter: AttemptLimiter | None = None


class RegistrationMode(StrEnum):
    """Who may create an account."""

    open = "open"
    invite = "invite"
    closed = "closed"


def login_limiter() -> AttemptLimiter:
    """The process-wide failed sign-in limiter."""
    global _limiter
    if _limiter is None:
        settings = get_settings()
        _limiter = AttemptLimiter(settings.login_attempts, settings.login_window_minutes * 60)
    return _limiter


def reset_login_limiter() -> None:
    """Forget every recorded failure (tests; settings changes)."""
    global _limiter
    _limiter = None


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
            if _claim_first_admin(session, user):
                user.role = Role.admin
            return user
    except IntegrityError as exc:
        raise ValidationError("That username is taken.", "username") from exc


def _username_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(User.username == name)
    if except_id is not None:
        query = query.where(User.id != except_id)
    return session.exec(query).first() is not None


def _claim_first_admin(session: Session, user: User) -> bool:
    # The claim row's primary key makes concurrent first sign-ups race-free: one insert wins.
    try:
        with session.begin_nested():
            session.add(AppSetting(key=FIRST_ADMIN_KEY, value=str(user.id)))
        return True
    except IntegrityError:
        return False


def authenticate(username: str, password: str, address: str = "") -> User:
    """Check credentials with rate limiting per username and per address."""
    name = normalize_username(username)[:64]  # bounded keys: the limiter's memory stays small
    keys = (f"user:{name}", f"addr:{address}")
    limiter = login_limiter()
    if limiter.blocked(*keys):
        raise RateLimited(TOO_MANY_ATTEMPTS)
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
            limiter.fail(*keys)
            raise AuthError(BAD_CREDENTIALS)
        if new_hash:
            user.password_hash = new_hash
        user.last_active_at = utcnow()
        session.add(user)
    limiter.clear(keys[0])
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
