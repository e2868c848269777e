"""Wiring of the instance's life: heartbeat and sweep, SIGTERM drain, clean exit.

At start-up the instance writes its heartbeat row and closes the replies of instances that
stopped beating (never a live one's). Every third of INSTANCE_HEARTBEAT_TIMEOUT_SECONDS it
beats again and sweeps. On SIGTERM it stops taking turns at once, saves its live replies as
interrupted (within SHUTDOWN_GRACE_SECONDS) and removes its row, while uvicorn closes the
connections; browsers reconnect through the load balancer to another instance. With a shared
Redis, the running replies' progress is published for pages on other instances.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from nicegui import app, background_tasks, run

from core.config import get_settings
from services.chat import interruptions, progress
from services.runtime import liveness, shared

log = logging.getLogger(__name__)

# Leave a second of the grace period for uvicorn and the process to end.
EXIT_MARGIN_SECONDS = 1.0

_drain: asyncio.Task | None = None


def start_instance() -> None:
    """Beat once and close the replies of silent instances (blocking; from `_startup`)."""
    global _drain
    _drain = None
    liveness.start_accepting()
    liveness.beat()
    interruptions.close_interrupted_replies()


async def _heartbeat() -> None:
    while True:
        await asyncio.sleep(liveness.interval_seconds())
        if liveness.draining():
            return
        try:
            await run.io_bound(liveness.beat)
            await run.io_bound(interruptions.close_interrupted_replies)
        except Exception:  # a missed beat is harmless; a few in a row make us look dead
            log.exception("Heartbeat failed")


def _begin_drain() -> asyncio.Task:
    global _drain
    if _drain is None or _drain.get_loop() is not asyncio.get_running_loop():
        grace = max(get_settings().shutdown_grace_seconds - EXIT_MARGIN_SECONDS, 0.5)
        _drain = asyncio.get_running_loop().create_task(
            interruptions.drain(grace), name="shutdown-drain"
        )
    return _drain


def _catch_sigterm() -> None:
    """Start the drain the moment SIGTERM arrives, then let uvicorn's handler run as before."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: object) -> None:
        liveness.start_draining()
        loop.call_soon_threadsafe(_begin_drain)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


async def _shutdown() -> None:
    await _begin_drain()
    try:
        await run.io_bound(liveness.forget)
    except Exception:  # the survivors remove the row after the timeout instead
        log.exception("Could not remove this instance's heartbeat row")


def register_lifecycle() -> None:
    """Heartbeat, SIGTERM drain and clean exit (from `app.startup.setup`)."""
    app.on_startup(_catch_sigterm)
    app.on_startup(lambda: background_tasks.create(_heartbeat(), name="instance-heartbeat"))
    if shared.enabled():  # pages on other instances follow this one's replies live
        app.on_startup(lambda: background_tasks.create(progress.publish_loop(), name="progress"))
    app.on_shutdown(_shutdown)
