"""The shared store of a scale-out deployment: Redis at NICEGUI_REDIS_URL, or nothing.

With Redis configured, the turn lock, the sign-in limiter and reply progress are shared by
every instance (keys under NICEGUI_REDIS_KEY_PREFIX + "studio:"). Without it (one instance,
SQLite) each of them has an in-process implementation behind the same small interface.
"""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from core.config import get_settings

_sync: dict[str, redis.Redis] = {}
_async: dict[tuple[int, str], aioredis.Redis] = {}


def enabled() -> bool:
    """True when the instances share a Redis (NICEGUI_REDIS_URL is set)."""
    return bool(get_settings().nicegui_redis_url)


def key(*parts: object) -> str:
    """A key of ours in the shared Redis: the deployment's prefix, `studio:`, the parts."""
    return get_settings().nicegui_redis_key_prefix + "studio:" + ":".join(map(str, parts))


def sync_client() -> redis.Redis:
    """The process's blocking Redis client (thread-safe pool; call it off the event loop)."""
    url = get_settings().nicegui_redis_url
    client = _sync.get(url)
    if client is None:
        client = _sync.setdefault(
            url, redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        )
    return client


def async_client() -> aioredis.Redis:
    """This event loop's asyncio Redis client (a pool may not cross event loops)."""
    url = get_settings().nicegui_redis_url
    loop_key = (id(asyncio.get_running_loop()), url)
    client = _async.get(loop_key)
    if client is None:
        client = _async.setdefault(
            loop_key, aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        )
    return client


def reset() -> None:
    """Forget the clients (tests switching Redis URLs or event loops)."""
    for client in _sync.values():
        client.close()
    _sync.clear()
    _async.clear()
