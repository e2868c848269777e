"""Password hashing (passlib/bcrypt), JWT sessions (python-jose) and sign-in rate limiting."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from jose import JWTError, jwt
from passlib.context import CryptContext

from core.config import MIN_SECRET_BYTES

JWT_ALGORITHM = "HS256"


@lru_cache(maxsize=4)
def _crypt_context(rounds: int) -> CryptContext:
    # bcrypt_sha256 pre-hashes, so passwords longer than bcrypt's 72 bytes are verified exactly;
    # plain "bcrypt" stays to verify (and flag for upgrade) hashes from the old system.
    return CryptContext(
        schemes=["bcrypt_sha256", "bcrypt"],
        deprecated="auto",
        bcrypt_sha256__rounds=rounds,
        bcrypt__rounds=rounds,
    )


def hash_password(password: str, rounds: int = 12) -> str:
    """Hash a password (slow by design: call it off the event loop)."""
    return _crypt_context(rounds).hash(password)


def verify_password(password: str, password_hash: str, rounds: int = 12) -> tuple[bool, str | None]:
    """Check a password: (ok, new_hash), new_hash set when the stored hash needs upgrading."""
    try:
        return _crypt_context(rounds).verify_and_update(password, password_hash)
    except (ValueError, TypeError):
        return False, None


@dataclass(frozen=True)
class TokenClaims:
    """What a valid session token says."""

    user_id: int
    version: int
    expires_at: datetime


def issue_token(user_id: int, version: int, secret: str, minutes: int) -> str:
    """A signed HS256 JWT with sub, iat, exp and ver (the user's token_version)."""
    _check_secret(secret)
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_token(token: str, secret: str) -> TokenClaims | None:
    """The claims of a valid token, or None (bad signature, algorithm, expiry or shape)."""
    _check_secret(secret)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require_exp": True, "require_sub": True, "require_iat": True},
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            version=int(claims["ver"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (JWTError, KeyError, ValueError, TypeError, AttributeError):
        return None


def _check_secret(secret: str) -> None:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError("the signing secret is too short")


class AttemptLimiter:
    """Counts failures per key in a sliding window (per process; see docs/deploy.md)."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)  # keys without recent failures take no memory
        return times

    def blocked(self, *keys: str) -> bool:
        """True when any key reached the limit within the window."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def fail(self, *keys: str) -> None:
        """Record one failure for every key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times

    def clear(self, *keys: str) -> None:
        """Forget the failures of these keys (after a success)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
