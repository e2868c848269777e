"""Password reset by single-use links. Blocking: run off the event loop.

A link carries a random token; only its SHA-256 digest is stored, so a database leak does not
leak working links. Links are valid for one hour and for one use. Requests always get the same
answer and take the same path whether or not the account exists (no enumeration); mail is sent
from a background thread so SMTP latency does not tell accounts apart either. Without SMTP the
link is written to the server log at WARNING level for an administrator to pass on. Links
are absolute only under PUBLIC_URL, never built from a request's Host header.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlmodel import Session, or_, select

from core.config import get_settings
from core.db import session_scope
from core.errors import RateLimited, ValidationError
from models import PasswordResetToken, User, utcnow
from services.accounts.security import AttemptLimiter, hash_password
from services.accounts.users import normalize_username, validate_new_password

log = logging.getLogger(__name__)

TOKEN_TTL = timedelta(hours=1)
REQUESTS_PER_ADDRESS = 5
REQUESTS_PER_ACCOUNT = 3
REQUEST_WINDOW_SECONDS = 15 * 60
RESET_PATH = "/reset-password"
REQUEST_ANSWER = (
    "If an account matches, a reset link is on its way. It works once, for one hour. "
    "No email? Ask an administrator for a link."
)
INVALID_LINK = "This reset link is invalid, already used or expired. Ask for a new one."
TOO_MANY_REQUESTS = "Too many reset requests. Wait a few minutes and try again."

_limiter = AttemptLimiter(REQUESTS_PER_ADDRESS, REQUEST_WINDOW_SECONDS)
_account_limiter = AttemptLimiter(REQUESTS_PER_ACCOUNT, REQUEST_WINDOW_SECONDS)
# One worker: mails go out in order, and `wait_for_mail` waits for all queued before it.
_mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reset-mail")


def reset_limits() -> None:
    """Forget recorded requests (tests)."""
    global _limiter, _account_limiter
    _limiter = AttemptLimiter(REQUESTS_PER_ADDRESS, REQUEST_WINDOW_SECONDS)
    _account_limiter = AttemptLimiter(REQUESTS_PER_ACCOUNT, REQUEST_WINDOW_SECONDS)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_link(token: str) -> str:
    """The link for a token: absolute under PUBLIC_URL, else the path alone.

    Never built from a request's Host header: a client picks that header, and a link to its
    host would hand the working token to whoever controls it (reset-link poisoning).
    """
    path = f"{RESET_PATH}?token={token}"
    base = get_settings().public_url.rstrip("/")
    return f"{base}{path}" if base else path


def create_token(user_id: int) -> str:
    """A new single-use token for the user (stored hashed), valid for one hour."""
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(
            PasswordResetToken(
                user_id=user_id, token_hash=_digest(token), expires_at=utcnow() + TOKEN_TTL
            )
        )
    return token


def _find_account(identifier: str) -> User | None:
    text = identifier.strip()
    if not text:
        return None
    with session_scope() as session:
        return session.exec(
            select(User)
            .where(or_(User.username == normalize_username(text), User.email == text))
            .order_by(User.id)
        ).first()


def request_reset(identifier: str, address: str = "") -> str:
    """Start a reset for a username or email; always returns the same answer.

    RateLimited is raised per address (independent of whether the account exists); repeated
    requests for one account beyond the limit are silently dropped.
    """
    if _limiter.blocked(f"addr:{address}"):
        raise RateLimited(TOO_MANY_REQUESTS)
    _limiter.fail(f"addr:{address}")
    user = _find_account(identifier)
    account_key = f"user:{user.id if user else normalize_username(identifier)[:254]}"
    if _account_limiter.blocked(account_key):
        return REQUEST_ANSWER
    _account_limiter.fail(account_key)
    if user is None or not user.is_active:
        return REQUEST_ANSWER
    link = reset_link(create_token(user.id))
    _mailer.submit(deliver_link, user.username, user.email, link)
    return REQUEST_ANSWER


def deliver_link(username: str, email: str | None, link: str) -> None:
    """Mail the link (SMTP with STARTTLS by default), or log it when mail is not possible."""
    settings = get_settings()
    if not settings.smtp_host:
        # Documented: without mail, an admin reads the link here and passes it on.
        where = "" if link.startswith("http") else " (PUBLIC_URL is unset: open it on this app)"
        log.warning(
            "Password reset link for %s (no SMTP_HOST configured): %s%s", username, link, where
        )
        return
    if not email:
        # Mail is configured, so the log is not a delivery channel: never write the link.
        log.warning(
            "Password reset requested for %s, who has no email; an admin can issue a link",
            username,
        )
        return
    message = EmailMessage()
    message["Subject"] = "Reset your Assistant Studio password"
    message["From"] = settings.smtp_from
    message["To"] = email
    message.set_content(
        f"Hello {username},\n\nsomeone (hopefully you) asked to reset your password.\n"
        f"Open this link within one hour to choose a new one:\n\n{link}\n\n"
        "The link works once. If you did not ask for it, ignore this mail.\n"
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
        log.info("Password reset mail sent to %s", username)
    except (OSError, smtplib.SMTPException):
        log.exception("Could not mail the password reset link to %s", username)


def wait_for_mail() -> None:
    """Block until every queued mail was handled (tests and shutdown)."""
    _mailer.submit(lambda: None).result()


def _usable(session: Session, token: str) -> PasswordResetToken | None:
    row = session.exec(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token or ""))
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return row if user is not None and user.is_active else None


def token_is_valid(token: str) -> bool:
    """True when the token can still be used (the page shows the form or an error)."""
    with session_scope() as session:
        return _usable(session, token) is not None


def reset_password(token: str, password: str, confirm: str | None = None) -> User:
    """Set a new password with a valid token; ends every session and every other link."""
    validate_new_password(password, confirm)
    password_hash = hash_password(password, get_settings().bcrypt_rounds)
    with session_scope() as session:
        row = _usable(session, token)
        if row is None:
            raise ValidationError(INVALID_LINK)
        now = utcnow()
        # The conditional update makes the token single-use even under concurrent requests.
        claimed = session.exec(
            sa.update(PasswordResetToken)
            .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:
            raise ValidationError(INVALID_LINK)
        session.exec(
            sa.update(PasswordResetToken)
            .where(PasswordResetToken.user_id == row.user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        user = session.get(User, row.user_id)
        user.password_hash = password_hash
        user.token_version += 1
        user.updated_at = now
        session.add(user)
        return user
