"""The real app (`main.py`) plus an event-loop lag probe, for bench/chat_load.py.

The probe sleeps 5 ms in a loop on the app's event loop and records the worst overshoot,
which is the longest time the loop was blocked; every second it appends
"<unix time> <worst overshoot in that second>" to $LOOP_LAG_FILE. With $GC_LOG_FILE, every
garbage collection is logged with its generation and pause.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from nicegui import app

import main

PROBE_SECONDS = 0.005
STACK_AFTER_SECONDS = 0.1
_heartbeat = time.perf_counter()


async def _probe() -> None:
    path = Path(os.environ["LOOP_LAG_FILE"])
    worst = 0.0
    last_write = time.perf_counter()
    global _heartbeat
    while True:
        before = time.perf_counter()
        await asyncio.sleep(PROBE_SECONDS)
        now = _heartbeat = time.perf_counter()
        worst = max(worst, now - before - PROBE_SECONDS)
        if now - last_write >= 1:
            with path.open("a") as out:
                out.write(f"{time.time():.3f} {worst:.6f}\n")
            worst, last_write = 0.0, now


def _stack_watch(loop_thread: int, path: Path) -> None:
    """With $LOOP_STACKS_FILE: record what the loop thread runs when it is blocked > 100 ms."""
    while True:
        time.sleep(0.02)
        if time.perf_counter() - _heartbeat > STACK_AFTER_SECONDS:
            frame = sys._current_frames().get(loop_thread)
            with path.open("a") as out:
                out.write("".join(traceback.format_stack(frame)[-12:]) + "-----\n")
            time.sleep(STACK_AFTER_SECONDS)


_gc_started = 0.0


def _gc_timer(path: Path):  # noqa: ANN202
    """A gc callback appending "<unix time> <generation> <pause seconds>" per collection."""
    out = path.open("a", buffering=1)

    def on_gc(phase: str, info: dict) -> None:
        global _gc_started
        if phase == "start":
            _gc_started = time.perf_counter()
        else:
            out.write(
                f"{time.time():.3f} {info['generation']} {time.perf_counter() - _gc_started:.6f}\n"
            )

    return on_gc


def _start_probes() -> None:
    asyncio.get_running_loop().create_task(_probe())
    if gc_log := os.environ.get("GC_LOG_FILE"):
        gc.callbacks.append(_gc_timer(Path(gc_log)))
    if stacks := os.environ.get("LOOP_STACKS_FILE"):
        args = (threading.get_ident(), Path(stacks))
        threading.Thread(target=_stack_watch, args=args, daemon=True).start()


if __name__ in {"__main__", "__mp_main__"}:
    app.on_startup(_start_probes)
    main.main()
