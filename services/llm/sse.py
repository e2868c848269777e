"""A minimal Server-Sent Events reader for raw provider streams.

The adapters read the SSE body through the SDK's `with_streaming_response` (same HTTP
client, retries and status-error mapping) and parse only the JSON they need with orjson,
which costs a fraction of the SDK's per-event pydantic models.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson


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
