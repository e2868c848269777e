"""Personal API keys: create (shown once), list, revoke, and resolve a bearer key to its owner.

A key is `as_` followed by 43 URL-safe random characters (`secrets.token_urlsafe(32)`, 256
bits). Only its SHA-256 digest is stored: with that much entropy no salt or slow hash is
needed, and a lookup by digest reveals nothing about other keys. The first characters stay
visible (`prefix`) so people can tell their keys apart. A key stops working at once when it
is revoked, when it expires, or when its owner's account is disabled or deleted.

Blocking: run off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import ApiKey, KeyScope, Role, User, as_utc, utcnow
from services.accounts import audit
from services.accounts.permissions import active_actor, require_admin

KEY_PREFIX = "as_"
KEY_RANDOM_BYTES = 32  # token_urlsafe(32): 43 characters
VISIBLE_CHARS = 8  # "as_" and the first 5 random characters identify a key in lists
MAX_KEYS_PER_USER = 20
MAX_NAME_LENGTH = 64
# Expiry choices offered in the profile, in days (None: never expires). 90 is the default:
# long enough for a script, short enough that a forgotten key dies on its own.
EXPIRY_CHOICES: dict[str, int | None] = {
    "30 days": 30,
    "90 days": 90,
    "365 days": 365,
    "Never": None,
}
DEFAULT_EXPIRY_DAYS = 90
# `last_used_at` is written at most this often per key, so a busy script costs no write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyInfo:
    """What a list shows about a key (never the key itself)."""

    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    scope: KeyScope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """`active`, `revoked` or `expired`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and as_utc(self.expires_at) <= utcnow():
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewKey:
    """A key just created: `secret` is shown once and never stored."""

    info: KeyInfo
    secret: str


@dataclass(frozen=True)
class KeyOwner:
    """Who a valid bearer key acts for, and with which scope."""

    user: User
    key_id: int
    key_name: str
    scope: KeyScope

    @property
    def can_chat(self) -> bool:
        """True when the key may send messages and change things."""
        return self.scope == KeyScope.chat


def digest(secret: str) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(key: ApiKey, username: str) -> KeyInfo:
    return KeyInfo(
        id=key.id,
        user_id=key.user_id,
        username=username,
        name=key.name,
        prefix=key.prefix,
        scope=key.scope,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def create_key(
    actor: User, name: str, scope: str = "chat", expires_in_days: int | None = DEFAULT_EXPIRY_DAYS
) -> NewKey:
    """Create a key for the acting user; the returned secret is the only copy there is."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the key a name, e.g. the script that uses it.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"Use at most {MAX_NAME_LENGTH} characters.", "name")
    try:
        scope = KeyScope(scope)
    except ValueError:
        raise ValidationError("Choose chat or read-only.", "scope") from None
    if expires_in_days not in EXPIRY_CHOICES.values():
        raise ValidationError("Choose one of the offered expiries.", "expiry")
    secret = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    now = utcnow()
    with session_scope() as session:
        owner = active_actor(session, actor)
        live = session.exec(
            select(sa.func.count(ApiKey.id)).where(
                ApiKey.user_id == owner.id, ApiKey.revoked_at.is_(None)
            )
        ).one()
        if live >= MAX_KEYS_PER_USER:
            raise ValidationError(
                f"You have {live} keys; revoke one you no longer use first.", "name"
            )
        key = ApiKey(
            user_id=owner.id,
            name=name,
            prefix=secret[:VISIBLE_CHARS],
            key_hash=digest(secret),
            scope=scope,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
            created_at=now,
        )
        session.add(key)
        session.flush()
        info = _info(key, owner.username)
    audit.record("apikey.created", owner, key_id=info.id, key=info.prefix, scope=scope.value)
    return NewKey(info, secret)


def list_keys(actor: User) -> list[KeyInfo]:
    """The acting user's keys, newest first (revoked ones included, marked)."""
    with session_scope() as session:
        owner = active_actor(session, actor)
        keys = session.exec(
            select(ApiKey).where(ApiKey.user_id == owner.id).order_by(ApiKey.id.desc())
        ).all()
        return [_info(key, owner.username) for key in keys]


def list_all_keys(actor: User) -> list[KeyInfo]:
    """Every user's keys (admins only), by user then newest first."""
    require_admin(actor)
    with session_scope() as session:
        rows = session.exec(
            select(ApiKey, User.username)
            .join(User, User.id == ApiKey.user_id)
            .order_by(User.username, ApiKey.id.desc())
        ).all()
        return [_info(key, username) for key, username in rows]


def revoke_key(actor: User, key_id: int) -> KeyInfo:
    """Revoke a key (its owner or an admin); it stops working on the next request."""
    with session_scope() as session:
        fresh = active_actor(session, actor)
        key = session.get(ApiKey, key_id)
        if key is None or (key.user_id != fresh.id and fresh.role != Role.admin):
            raise NotFound("Key not found")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            session.add(key)
        owner = session.get(User, key.user_id)
        info = _info(key, owner.username if owner else "")
    audit.record("apikey.revoked", fresh, key_id=info.id, key=info.prefix, owner_id=info.user_id)
    return info


def owner_for_key(secret: str | None) -> KeyOwner | None:
    """The owner a bearer key acts for, or None: unknown, revoked, expired, or the account
    disabled or gone. Marks the key used (at most once a minute)."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    now = utcnow()
    with session_scope() as session:
        key = session.exec(select(ApiKey).where(ApiKey.key_hash == wanted)).first()
        # The lookup is by digest; the comparison is repeated in constant time regardless.
        if key is None or not hmac.compare_digest(key.key_hash, wanted):
            return None
        if key.revoked_at is not None or (
            key.expires_at is not None and as_utc(key.expires_at) <= now
        ):
            return None
        user = session.get(User, key.user_id)
        if user is None or not user.is_active:
            return None
        if key.last_used_at is None or now - as_utc(key.last_used_at) >= LAST_USED_RESOLUTION:
            session.execute(
                sa.update(ApiKey.__table__)
                .where(ApiKey.__table__.c.id == key.id)
                .values(last_used_at=now)
            )
        return KeyOwner(user, key.id, key.name, key.scope)


def require_chat_scope(owner: KeyOwner) -> None:
    """PermissionDenied for a read-only key trying to send or change something."""
    if not owner.can_chat:
        raise PermissionDenied("This API key is read-only; use a key with the chat scope.")
