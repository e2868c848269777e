"""The server-side registry of replies being generated.

A reply runs as an asyncio task tied to its assistant message id, not to a browser tab:
closing or reloading the tab neither stops nor loses it. Pages look a generation up by
message id and `subscribe` to be called back once after each burst of changes (the provider
streams are read in ~100 ms bursts, see services/llm/sse.py); Stop cancels the task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Generation:
    """A reply in progress: the text so far, the current tool activity, and its task.

    `version` grows with every visible change (text, activity, end), so a page redraws only
    when it differs from what it last drew. Subscribers are called once per burst of changes
    (one loop iteration after the first change), not once per token.
    """

    message_id: int
    conversation_id: int
    owner_id: int
    chunks: list[str] = field(default_factory=list)
    version: int = 0
    activity: str | None = None
    activity_since: float = 0.0  # time.monotonic() when the current activity began
    finished: bool = False
    interrupted: bool = False  # cancelled because the instance shuts down, not by Stop
    task: asyncio.Task | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list)
    _notify_pending: bool = False
    _joined: str = ""
    _joined_parts: int = 0

    @property
    def text(self) -> str:
        """The text streamed so far (joined lazily, incrementally)."""
        if self._joined_parts != len(self.chunks):
            self._joined += "".join(self.chunks[self._joined_parts :])
            self._joined_parts = len(self.chunks)
        return self._joined

    def append(self, text: str) -> None:
        """Add streamed text."""
        self.chunks.append(text)
        self.activity = None
        self.changed()

    def set_activity(self, label: str | None) -> None:
        """Show what a built-in tool (or the model's reasoning) is doing (None clears it)."""
        if label != self.activity:
            self.activity_since = time.monotonic()
        self.activity = label
        self.changed()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after each burst of changes, until `unsubscribe` or the end."""
        self.listeners.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        """Stop calling `callback` (no-op when it is not subscribed)."""
        if callback in self.listeners:
            self.listeners.remove(callback)

    def changed(self) -> None:
        """Count a visible change; notify the subscribers on the next loop iteration."""
        self.version += 1
        if self.listeners and not self._notify_pending:
            self._notify_pending = True
            asyncio.get_running_loop().call_soon(self._notify)

    def cancel_task(self) -> None:
        """Cancel the reply's task one loop iteration from now. A task cancelled before its
        first step never runs its body, so nothing would save the reply (it would stay
        `streaming`, its reservation held); one iteration on, it has started and saves what
        it has as stopped (or interrupted)."""
        if self.task is not None and not self.task.done():
            self.task.get_loop().call_soon(self.task.cancel)

    def _notify(self) -> None:
        self._notify_pending = False
        for callback in list(self.listeners):
            try:
                callback()
            except Exception:
                log.exception("Generation %s: a subscriber failed", self.message_id)


_running: dict[int, Generation] = {}


def start(
    generation: Generation, work: Callable[[Generation], Coroutine[Any, Any, None]]
) -> Generation:
    """Run `work(generation)` as a task registered under the generation's message id."""
    _running[generation.message_id] = generation

    async def run() -> None:
        try:
            await work(generation)
        except Exception:
            log.exception("Reply %s crashed", generation.message_id)
        finally:
            generation.finished = True
            _running.pop(generation.message_id, None)
            generation.changed()

    generation.task = asyncio.get_running_loop().create_task(
        run(), name=f"reply-{generation.message_id}"
    )
    return generation


def get(message_id: int) -> Generation | None:
    """The running generation of this message, if any (callers check ownership)."""
    return _running.get(message_id)


def for_conversation(conversation_id: int) -> list[Generation]:
    """The generations running in a conversation."""
    return [g for g in _running.values() if g.conversation_id == conversation_id]


def cancel(message_id: int) -> bool:
    """Cancel a running generation; True when there was one to cancel."""
    generation = _running.get(message_id)
    if generation is None or generation.task is None or generation.task.done():
        return False
    generation.cancel_task()
    return True


def cancel_owner(owner_id: int) -> int:
    """Cancel every reply of one user (account deletion); safe to call from any thread."""
    cancelled = 0
    for generation in list(_running.values()):
        task = generation.task
        if generation.owner_id == owner_id and task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)
            cancelled += 1
    return cancelled


def running() -> list[Generation]:
    """Every generation in progress."""
    return list(_running.values())


def running_count() -> int:
    """How many replies are being generated right now."""
    return len(_running)


async def wait(message_id: int) -> None:
    """Wait until a generation has finished and been saved (no-op when none runs)."""
    generation = _running.get(message_id)
    if generation is not None and generation.task is not None:
        await asyncio.wait({generation.task})
