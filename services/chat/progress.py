"""Reply progress shared between instances: published to Redis streams, followed elsewhere.

The browser stays on the instance that rendered its page, but the reply it shows may be
written by another one (a second tab that landed elsewhere, or a page reloaded onto a
survivor). With a shared Redis, every instance appends the new text of each of its running
replies to a Redis stream per reply (`…studio:reply:<id>`) in one pipeline every
PUBLISH_SECONDS, and an `end` entry when the reply is saved; a page on any instance
follows that stream live (`follow`). Without Redis (one instance) there is nobody to tell.
Either way the database row stays the truth: followers also watch it, so a reply whose
instance died ends when the survivors close the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import redis

from core.errors import NotFound
from models import MessageStatus, User
from services.chat import generation
from services.chat.conversations import get_message
from services.chat.generation import Generation
from services.runtime import shared

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 0.5
STREAM_TTL_SECONDS = 120  # a stream outlives its reply briefly, for late followers
STREAM_MAX_ENTRIES = 20_000
ROW_CHECK_SECONDS = 2.0  # how often a follower looks at the row (the end, a dead writer)


def _stream(message_id: int) -> str:
    return shared.key("reply", message_id)


async def publish_loop() -> None:
    """Publish the running replies' new text every PUBLISH_SECONDS (shared Redis only)."""
    sent: dict[int, tuple[Generation, int]] = {}  # message id -> reply, characters published
    while True:
        await asyncio.sleep(PUBLISH_SECONDS)
        try:
            await _publish_once(sent)
        except redis.RedisError:  # followers fall back to the row's checkpoints
            log.warning("Publishing reply progress failed", exc_info=True)


async def _publish_once(sent: dict[int, tuple[Generation, int]]) -> None:
    for live in generation.running():
        sent.setdefault(live.message_id, (live, 0))
    if not sent:
        return
    async with shared.async_client().pipeline(transaction=False) as pipe:
        for message_id, (live, published) in list(sent.items()):
            name = _stream(message_id)
            text = live.text
            if len(text) > published:
                pipe.xadd(
                    name, {"t": text[published:]}, maxlen=STREAM_MAX_ENTRIES, approximate=True
                )
                sent[message_id] = (live, len(text))
            if generation.get(message_id) is None:  # saved: the rest went out just above
                pipe.xadd(name, {"end": "1"})
                del sent[message_id]
            pipe.expire(name, STREAM_TTL_SECONDS)
        await pipe.execute()


async def follow(user: User, message_id: int) -> AsyncIterator[str]:
    """The text of a reply written on another instance, each time it grows; returns (without
    the final text: read the saved row) when the reply is saved or its row closed by the
    survivors. The user must own the conversation (NotFound otherwise)."""
    message = await asyncio.to_thread(get_message, user, message_id)
    text = message.content
    yield text
    last_id = "0"
    loop = asyncio.get_running_loop()
    next_check = loop.time() + ROW_CHECK_SECONDS
    while message.status == MessageStatus.streaming:
        if shared.enabled():
            try:
                found = await shared.async_client().xread(
                    {_stream(message_id): last_id}, count=500, block=int(ROW_CHECK_SECONDS * 1000)
                )
            except redis.RedisError:
                log.warning("Following reply %s through Redis failed", message_id, exc_info=True)
                found = []
                await asyncio.sleep(ROW_CHECK_SECONDS)
            entries = [entry for _, stream_entries in found for entry in stream_entries]
            if entries and last_id == "0":
                text = ""  # the stream holds the whole reply: start from its beginning
            ended = False
            for entry_id, fields in entries:
                last_id = entry_id
                text += fields.get(b"t", b"").decode()
                ended = ended or b"end" in fields
            if ended:
                return
            if entries:
                yield text
        else:
            await asyncio.sleep(ROW_CHECK_SECONDS)
        if loop.time() >= next_check:
            next_check = loop.time() + ROW_CHECK_SECONDS
            try:
                message = await asyncio.to_thread(get_message, user, message_id)
            except NotFound:
                return
            streaming = message.status == MessageStatus.streaming
            if streaming and not shared.enabled() and message.content != text:
                text = message.content  # the writer's latest checkpoint
                yield text
