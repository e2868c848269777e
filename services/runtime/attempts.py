"""Failure counters in the shared Redis: the sign-in limiter across every instance.

The same fixed windows as `services.accounts.security.AttemptLimiter` (a key's window opens
at its first failure and lasts `window_seconds`), kept as Redis counters that expire with
their window, so a guesser gets the same five tries whichever instance answers.
"""

from __future__ import annotations

import hashlib

import redis

from core.errors import Unavailable
from services.runtime import shared

_UNREACHABLE = "Sign-in is unavailable for a moment (the shared store cannot be reached)."


class SharedAttemptLimiter:
    """`AttemptLimiter`'s interface on Redis: INCR + PEXPIRE NX per key (blocking calls)."""

    def __init__(self, name: str, limit: int, window_seconds: float) -> None:
        self.name = name
        self.limit = limit
        self.window_ms = max(1, int(window_seconds * 1000))

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # bounded, no raw input
        return shared.key("attempts", self.name, digest)

    def retry_after(self, *keys: str) -> float:
        """Seconds until none of these keys is at its limit (0 when none is)."""
        try:
            with shared.sync_client().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(self._key(key))
                    pipe.pttl(self._key(key))
                answers = pipe.execute()
        except redis.RedisError as exc:
            raise Unavailable(_UNREACHABLE) from exc
        waits = [
            ttl / 1000
            for count, ttl in zip(answers[::2], answers[1::2], strict=True)
            if count is not None and int(count) >= self.limit and ttl > 0
        ]
        return max(waits, default=0.0)

    def blocked(self, *keys: str) -> bool:
        """True when any key reached the limit within its window."""
        return self.retry_after(*keys) > 0

    def fail(self, *keys: str) -> None:
        """Record one failure for every key (the first one opens the key's window)."""
        try:
            with shared.sync_client().pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.incr(self._key(key))
                    pipe.pexpire(self._key(key), self.window_ms, nx=True)
                pipe.execute()
        except redis.RedisError as exc:
            raise Unavailable(_UNREACHABLE) from exc

    def clear(self, *keys: str) -> None:
        """Forget the failures of these keys (after a success)."""
        try:
            shared.sync_client().delete(*(self._key(key) for key in keys))
        except redis.RedisError as exc:
            raise Unavailable(_UNREACHABLE) from exc
