"""Markdown rendering in a separate process, with a time limit per message (issue 13).

A thread is not enough: a crafted 32k-character message keeps the renderer busy for seconds,
and a thread shares the interpreter lock (and its garbage-collection pauses) with the event
loop, which then stalls 60-150 ms at a time. In a process the event loop does not notice.
The worker stops any render after RENDER_TIMEOUT_SECONDS (a SIGALRM in the worker) and
returns escaped plain text instead; that result is cached like any other, so the next page
load does not pay again.

One worker process at a lower CPU priority (nice 10: the server's event loop comes first),
started on first use with "spawn" so none of the server's threads or locks are inherited
(`main.py`'s `__mp_main__` guard is NiceGUI's pattern for that). Jobs queue in the worker; a
text already being rendered is not rendered twice. The functions block: call them through
`run.io_bound`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from services.chat import rendering

log = logging.getLogger(__name__)

RENDER_TIMEOUT_SECONDS = 5.0
# How long a caller waits at most: a queue of renders plus the worker's start (spawn
# re-imports the app, a few seconds on a busy machine).
WAIT_SECONDS = 60.0
# `warm` returns after this long, well inside NiceGUI's 3 s page response timeout.
WARM_BUDGET_SECONDS = 1.5
# The worker yields the CPU to the server (and its event loop) when both are busy.
WORKER_NICENESS = 10

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_in_flight: dict[tuple, Future] = {}


class _RenderTimeout(BaseException):
    """Raised in the worker by SIGALRM; a BaseException so no `except Exception` eats it."""


def _expire(signum: int, frame: object) -> None:
    raise _RenderTimeout


def _render_bounded(text: str, citations: list[dict] | None, seconds: float) -> tuple[str, bool]:
    """In the worker: (HTML, False), or (plain text, True) when rendering took too long."""
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return rendering.render_fresh(text, citations), False
    except _RenderTimeout:
        return rendering.plain_html(text), True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _lower_priority() -> None:
    """In the worker: let the OS run the server first when both want the CPU."""
    os.nice(WORKER_NICENESS)


def _worker() -> ProcessPoolExecutor:
    """The worker pool, created on first use; call with `_lock` held."""
    global _pool  # noqa: PLW0603 - one worker per server process
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_lower_priority,
        )
    return _pool


def start() -> None:
    """Start the worker process now (it re-imports the app, seconds of CPU): at start-up, so
    the first long message is rendered at once instead of shown as plain text. Blocking."""
    try:
        _submit("", None).result(WAIT_SECONDS)
    except (FutureTimeout, BrokenProcessPool, OSError, RuntimeError) as exc:
        log.warning("Markdown worker did not start (%s); it is retried on first use", exc)
        _reset_broken()


def shutdown() -> None:
    """Stop the worker now, dropping its queue (tests, shutdown); the next render starts one."""
    global _pool  # noqa: PLW0603
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        for process in list((pool._processes or {}).values()):  # noqa: SLF001 - no public kill
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _submit(text: str, citations: list[dict] | None) -> Future:
    """The render of this message in the worker: the one under way, or a new one."""
    key = (text, rendering.citations_key(citations))
    with _lock:
        future = _in_flight.get(key)
        if future is not None:
            return future
        future = _worker().submit(_render_bounded, text, citations, RENDER_TIMEOUT_SECONDS)
        _in_flight[key] = future
    # Outside the lock: a job already done runs its callback right here, and that takes it.
    future.add_done_callback(lambda done: _finished(key, text, citations, done))
    return future


def _finished(key: tuple, text: str, citations: list[dict] | None, future: Future) -> None:
    """Cache the result first, then forget the job, so no caller finds neither."""
    if not future.cancelled() and future.exception() is None:
        html, timed_out = future.result()
        if timed_out:
            log.warning(
                "Rendering %d characters took over %g s; shown as plain text",
                len(text),
                RENDER_TIMEOUT_SECONDS,
            )
        rendering.remember(text, citations, html)
    with _lock:
        _in_flight.pop(key, None)


def _reset_broken() -> None:
    global _pool  # noqa: PLW0603
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def render_isolated(text: str, citations: list[dict] | None = None) -> str:
    """The message's HTML: cached, short enough to render here, or rendered in the worker.

    Escaped plain text when the worker is too slow (WAIT_SECONDS) or died. Blocking.
    """
    html = rendering.render_if_cheap(text, citations)
    if html is not None:
        return html
    try:
        html = _submit(text, citations).result(WAIT_SECONDS)[0]
    except (FutureTimeout, BrokenProcessPool, OSError) as exc:
        log.warning("Markdown worker unavailable (%s); message shown as plain text", exc)
        if isinstance(exc, BrokenProcessPool):
            _reset_broken()
        return rendering.plain_html(text)
    rendering.remember(text, citations, html)  # its done-callback may not have run yet
    return html


def warm(
    messages: list[tuple[str, list[dict]]], budget_seconds: float = WARM_BUDGET_SECONDS
) -> int:
    """Render a page's messages into the cache before it draws them; how many are ready.

    Returns after `budget_seconds` at most, so the page is ready in time however crafted its
    messages are: what is not done yet is drawn as plain text and replaced when it is.
    Short messages (cheap enough for the event loop) are rendered here, never queued for the
    worker: a worker still starting, or starved at its lower priority on a busy machine,
    used to hold a page of short messages for the whole budget.
    """
    deadline = time.monotonic() + budget_seconds
    by_length = sorted(messages, key=lambda message: len(message[0] or ""))
    cheap = [m for m in by_length if len(m[0] or "") <= rendering.INLINE_RENDER_CHARS]
    pending: dict[Future, tuple[str, list[dict]]] = {}
    try:  # shortest first: as many messages as possible are ready when the budget ends
        for text, citations in by_length[len(cheap) :]:
            if rendering.cached_html(text, citations) is None:
                pending[_submit(text, citations)] = (text, citations)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:  # RuntimeError: shut down
        log.warning("Markdown worker unavailable (%s); rendering here", exc)
        _reset_broken()
        return rendering.warm_cache(messages, budget_seconds)
    rendering.warm_cache(cheap, budget_seconds)  # while the worker renders the long ones
    remaining = max(0.0, deadline - time.monotonic())
    done, _ = wait(pending, timeout=remaining) if pending else (set(), set())
    for future in done:  # the done-callbacks may not have run yet
        if not future.cancelled() and future.exception() is None:
            rendering.remember(*pending[future], future.result()[0])
    return sum(rendering.cached_html(text, citations) is not None for text, citations in messages)
