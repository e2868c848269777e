"""Limits on what one HTTP connection may hold: request head time and size, body size and pace.

uvicorn closes idle keep-alive connections, but a connection that sends its request head one
byte at a time (or nothing at all) is kept for ever, and any body is read without a cap:
FastAPI's form parser spools a chunked multipart body of any size to a temporary file before
the route can refuse it. These pieces bound both:

- `HeadTimeoutProtocol` (passed to uvicorn as `http=`): the request head must arrive within
  HEADER_TIMEOUT_SECONDS and stay under MAX_HEADER_BYTES, else the connection is closed.
- `RequestBodyLimitMiddleware`: every body is capped (uploads at MAX_FILE_MB, NiceGUI's
  socket.io polling at 1 MB, everything else, forms included, at MAX_FORM_KB), refused with
  413 before it is read when Content-Length says so, and counted as it streams when chunked;
  a body that stalls for BODY_IDLE_TIMEOUT_SECONDS gets 408.
"""

from __future__ import annotations

import asyncio
import re

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.config import get_settings

MAX_HEADER_BYTES = 64 * 1024
UPLOAD_PATH = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+$")
SOCKET_PREFIX = "/_nicegui_ws/"
SOCKET_POLL_BYTES = 1_000_000  # engine.io's own max_http_buffer_size
MULTIPART_OVERHEAD = 64 * 1024


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap for each request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        super().connection_made(transport)
        self._await_head()  # a connection that never sends anything is closed too

    def _await_head(self) -> None:
        if self._head_timer is None:
            timeout = get_settings().header_timeout_seconds
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)
            self._head_bytes = 0

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        in_head = self._head_timer is not None
        super().data_received(data)
        if in_head and self._head_timer is not None:  # the head is still not complete
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._head_done()
                self.send_400_response("Request header too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()  # the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)


def body_limit(path: str) -> tuple[int, str]:
    """The largest body a route accepts, and the message for one above it."""
    settings = get_settings()
    if UPLOAD_PATH.match(path):
        limit = settings.max_file_mb * 1024 * 1024 + MULTIPART_OVERHEAD
        return limit, f"Files may be at most {settings.max_file_mb} MB."
    if path.startswith(SOCKET_PREFIX):
        return SOCKET_POLL_BYTES, "Message too large."
    return settings.max_form_kb * 1024, f"Request bodies may be at most {settings.max_form_kb} KB."


class RequestBodyLimitMiddleware:
    """Caps and paces every request body before any route or form parser reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit, too_large = body_limit(path)
        length = dict(scope["headers"]).get(b"content-length")
        if UPLOAD_PATH.match(path) and length is None:
            # Browsers always send Content-Length for uploads; refuse to guess a stream.
            await PlainTextResponse(too_large, status_code=411)(scope, receive, send)
            return
        if length is not None and (not length.isdigit() or int(length) > limit):
            status = 413 if length.isdigit() else 400
            await PlainTextResponse(too_large, status_code=status)(scope, receive, send)
            return
        idle = get_settings().body_idle_timeout_seconds
        received = 0
        complete = False
        started = False
        refusal: tuple[int, str] | None = None

        async def limited_receive() -> Message:
            nonlocal received, complete, refusal
            if complete:  # body read: later receives wait for the disconnect, unbounded
                return await receive()
            if refusal is not None:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), idle)
            except TimeoutError:
                message = None
            if message is None:
                refusal = (408, "The request body stalled.")
            elif message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    refusal = (413, too_large)
            if refusal is not None:
                # The route sees the client go away (no exception to be re-wrapped by the
                # layers between here and the form parser); the answer is ours.
                return {"type": "http.disconnect"}
            return message

        refused = False  # our answer replaced the route's

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the rest of the route's answer to a refused body
            if message["type"] == "http.response.start":
                started = True
                if refusal is not None:
                    await _refuse(*refusal)
                    return
            await send(message)

        async def _refuse(status: int, text: str) -> None:
            nonlocal refused
            refused = True
            headers = {"Connection": "close"}
            await PlainTextResponse(text, status_code=status, headers=headers)(scope, receive, send)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not started:
            started = True
            await _refuse(*refusal)
