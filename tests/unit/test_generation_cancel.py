"""Stop right after a reply starts: the reply's own code still runs and saves the outcome."""

from __future__ import annotations

import asyncio

from services.chat import generation


async def test_a_reply_stopped_before_its_first_step_still_saves_its_outcome() -> None:
    saved: list[str] = []

    async def work(_: generation.Generation) -> None:
        try:
            await asyncio.sleep(60)  # the stream
            saved.append("complete")
        except asyncio.CancelledError:
            saved.append("stopped")

    running = generation.start(generation.Generation(10**9 + 7, 1, 1), work)
    assert generation.cancel(running.message_id)  # in the same loop iteration as the start
    await asyncio.wait_for(asyncio.wait({running.task}), timeout=5)
    assert saved == ["stopped"]
    assert running.finished and generation.get(running.message_id) is None
