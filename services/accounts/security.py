"""Password hashing (passlib/bcrypt), JWT sessions (python-jose) and sign-in rate limiting."""

from __future__ import annotations

import threading
import time
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
    """Counts failures per key in fixed windows (per process; see docs/deploy.md).

    A key's window opens at its first failure and lasts `window_seconds`; when it is over, the
    count starts again from zero. A sliding window would let one failure every few minutes
    keep a key locked for ever; a fixed one always ends, and `retry_after` says when.
    Memory stays bounded: expired windows are dropped, and past `max_keys` the oldest go.
    """

    def __init__(self, limit: int, window_seconds: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._failures: dict[str, tuple[float, int]] = {}  # key -> (window start, failures)
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry[0] >= self.window:
            del self._failures[key]  # keys without recent failures take no memory
            return None
        return entry

    def retry_after(self, *keys: str) -> float:
        """Seconds until none of these keys is at its limit (0 when none is)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                entry[0] + self.window - now
                for key in keys
                if (entry := self._current(key, now)) is not None and entry[1] >= self.limit
            ]
        return max(waits, default=0.0)

    def blocked(self, *keys: str) -> bool:
        """True when any key reached the limit within its window."""
        return self.retry_after(*keys) > 0

    def fail(self, *keys: str) -> None:
        """Record one failure for every key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                entry = self._current(key, now)
                self._failures[key] = (now, 1) if entry is None else (entry[0], entry[1] + 1)
            if len(self._failures) > self.max_keys:
                self._prune(now)

    def _prune(self, now: float) -> None:
        for key in [k for k, (start, _) in self._failures.items() if now - start >= self.window]:
            del self._failures[key]
        overflow = len(self._failures) - self.max_keys
        if overflow > 0:  # dicts keep insertion order: the oldest windows go first
            for key in list(self._failures)[:overflow]:
                del self._failures[key]

    def clear(self, *keys: str) -> None:
        """Forget the failures of these keys (after a success)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
