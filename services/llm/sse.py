"""A minimal Server-Sent Events reader for raw provider streams.

The adapters read the SSE body through the SDK's `with_streaming_response` (same HTTP
client, retries and status-error mapping) and parse only the JSON they need with orjson,
which costs a fraction of the SDK's per-event pydantic models.

Network reads are paced (`paced_bytes`): when the HTTP client has parsed everything already
received and must read the connection again, it first waits until `READ_INTERVAL_SECONDS`
have passed since its previous read returned. The connection is not read meanwhile, so the
tokens that arrive in between come in one socket read instead of one read per token (a read
through the HTTP stack costs far more than parsing one more event), and they reach the
generation in one burst, which the chat page draws at once (`Generation.subscribe`). Pages
show new text at most every ~100 ms anyway, so pacing adds no visible delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from openai._response import AsyncAPIResponse

READ_INTERVAL_SECONDS = 0.1


async def paced_bytes(response: AsyncAPIResponse[Any]) -> AsyncIterator[bytes]:
    """The body of a streaming response, its network reads at most one per read interval.

    Close it (`contextlib.aclosing`) before the response, so the connection goes back to the
    pool unpaced.
    """
    stream = response.http_response.extensions.get("network_stream")
    if stream is None:  # a transport without a network stream (never the default client)
        async for chunk in response.iter_bytes():
            yield chunk
        return
    read = type(stream).read.__get__(stream)  # the class's read, never a stale wrapper
    loop = asyncio.get_running_loop()
    last_read = 0.0

    async def paced_read(max_bytes: int, timeout: float | None = None) -> bytes:
        nonlocal last_read
        wait = last_read + READ_INTERVAL_SECONDS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        data = await read(max_bytes, timeout)
        last_read = loop.time()
        return data

    stream.read = paced_read  # this response only: removed before the connection is reused
    try:
        async for chunk in response.iter_bytes():
            yield chunk
    finally:
        if vars(stream).get("read") is paced_read:
            del stream.read


async def iter_sse_json(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """Yield the JSON `data` of each event; stop at `data: [DONE]` or the end of the body."""
    buffer = b""
    data: list[bytes] = []
    async for chunk in chunks:
        lines = (buffer + chunk).split(b"\n")
        buffer = lines.pop()
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif not line and data:
                payload = data[0] if len(data) == 1 else b"\n".join(data)
                data = []
                if payload == b"[DONE]":
                    return
                yield orjson.loads(payload)
