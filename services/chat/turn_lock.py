"""The per-conversation turn lock: one check-then-start of a turn at a time.

A double click, two tabs or two instances must not start two replies in one conversation or
lose a count update. In one process an asyncio lock serializes the turn's start; with a
shared Redis (NICEGUI_REDIS_URL) a Redis lock (SET NX PX with a random token, released only
by its holder) serializes it across every instance too. The lock covers the start of a turn
(checks, rows, the split's summary), not the streaming, which a `streaming` row guards.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import redis

from core.errors import Unavailable, ValidationError
from services.runtime import shared

# Long enough for the slowest start (a split summarizes the conversation with one model call);
# a holder that died frees the lock when it expires.
LOCK_TTL_SECONDS = 120.0
LOCK_POLL_SECONDS = 0.05
BUSY = "Another message in this conversation is still being started; try again in a moment."
UNREACHABLE = "Sending is unavailable for a moment (the shared store cannot be reached)."

_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)

_local: dict[int, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def one_turn_at_a_time(conversation_id: int) -> AsyncIterator[None]:
    """Hold the conversation's turn lock (this process's, then the shared one if any)."""
    lock = _local.setdefault(conversation_id, asyncio.Lock())
    try:
        async with lock:
            if shared.enabled():
                async with _shared_lock(conversation_id):
                    yield
            else:
                yield
    finally:
        if not lock.locked() and _local.get(conversation_id) is lock:
            del _local[conversation_id]


@contextlib.asynccontextmanager
async def _shared_lock(conversation_id: int) -> AsyncIterator[None]:
    client = shared.async_client()
    name = shared.key("turn", conversation_id)
    token = secrets.token_hex(16)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_TTL_SECONDS
    try:
        while not await client.set(name, token, nx=True, px=int(LOCK_TTL_SECONDS * 1000)):
            if loop.time() > deadline:
                raise ValidationError(BUSY, "message")
            await asyncio.sleep(LOCK_POLL_SECONDS)
    except redis.RedisError as exc:
        raise Unavailable(UNREACHABLE) from exc
    try:
        yield
    finally:
        with contextlib.suppress(redis.RedisError):  # else it expires with its TTL
            await asyncio.shield(client.eval(_RELEASE, 1, name, token))
