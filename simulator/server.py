"""A small OpenAI-compatible server for tests, benchmarks and demo mode.

Implements the subset the app uses (Responses, Chat Completions, Files, Vector Stores,
Models, container file content) on 127.0.0.1 with deterministic replies, realistic usage and
fault injection. Faults come, in this order of precedence, from the "fail next N" queue,
a `[[sim:fault=NAME]]` marker in the last user message, or the `X-Sim-Fault` header.
Fault names: an HTTP status (429, 500, 401, ...), error_midstream (a flat `error` event,
then `response.failed` with usage), error_nested (the live wire's nested
`{"type":"error","error":{...}}`, code insufficient_quota), cut_midstream, hang.
Other markers: `[[sim:delay_ms=N]]`, `[[sim:tokens_per_s=N]]`, `[[sim:tokens=N]]`,
`[[sim:think_ms=N]]` (a reasoning model's silence before it answers), `[[sim:gap_ms=N]]` (a
silence half-way through the text), `[[sim:incomplete=content_filter]]`, `[[sim:refuse=1]]`,
`[[sim:ignore_limit=1]]` (stream past `max_output_tokens`, as a careless server might).
Marker values are clamped (`LIMITS`), so no prompt can make it stream for hours or fill memory.

Reasoning models (gpt-5*, o-series) answer like the real API: a reasoning item (with a
summary when `reasoning.summary` is asked for), a preamble message before tool calls, an
`open_page` web-search action, `cfile_` container citations at offset 0, and a snapshot name
in `response.model`. `max_output_tokens` is honoured: past it the reply ends
`response.incomplete`.

The control routes (`/_sim/config`, `/_sim/requests`) need `Authorization: Bearer <token>`:
the token given at start (SIMULATOR_TOKEN), else a random one (`SimulatorServer.token`).

In-process: `start_simulator(port)`; standalone: `python -m simulator --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from simulator.replies import (
    Plan,
    Prompt,
    RenderedStream,
    chat_completion,
    final_output,
    is_reasoning_model,
    markers,
    plan_reply,
    refusal_plan,
    render_chat,
    render_responses,
    response_object,
    responses_usage,
)

# The models it lists are the app's catalog, read as a file: the simulator imports none of the
# app's code, so it runs (and could be replaced) on its own.
MODEL_CATALOG = Path(__file__).resolve().parent.parent / "services" / "llm" / "model_catalog.json"

STREAM_FAULTS = {"error_midstream", "error_nested", "cut_midstream", "hang"}
INDEXING_FAIL_MARKER = b"SIM_FAIL_INDEXING"
INDEXING_SECONDS = 0.15
POLL_AFTER_MS = "20"
RETRY_AFTER_MS = "10"
SEND_BATCH = 32
STOP_POLL_SECONDS = 0.05
REQUEST_LOG_SIZE = 1000  # the request log is a ring: the newest entries only
# Ceilings for marker and config values: (smallest, largest).
LIMITS: dict[str, tuple[float, float]] = {
    "tokens": (1, 20_000),
    "delay_ms": (0, 60_000),
    "think_ms": (0, 120_000),
    "gap_ms": (0, 120_000),
    "tokens_per_s": (0, 100_000),
}


def clamp(name: str, value: Any, default: float = 0) -> float:
    """A marker or config value as a number within `LIMITS` (junk gives `default`)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    if number != number:  # NaN
        return default
    low, high = LIMITS[name]
    return min(max(number, low), high)


@dataclass
class SimConfig:
    """Defaults applied to every model request unless a marker overrides them."""

    delay_ms: int = 0
    tokens_per_s: float = 0.0  # 0 = as fast as possible
    think_ms: int = 0  # how long reasoning models think in silence
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses for the next requests


class _ConnectionCut(Exception):
    """Raised inside a stream so uvicorn drops the connection mid-body."""


class _DropConnectionCutLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _ConnectionCut))


_CONNECTION_CUT_FILTER = _DropConnectionCutLogs()


@dataclass
class _Options:
    fault: str | None
    delay: float
    rate: float
    tokens: int | None
    think: float = 0.0
    gap: float = 0.0
    incomplete: str | None = None
    refuse: bool = False
    ignore_limit: bool = False


class SimulatorServer:
    """The simulator's state and its uvicorn server (see `start_simulator`)."""

    def __init__(
        self,
        port: int = 0,
        *,
        token: str | None = None,
        tokens_per_s: float = 0.0,
        think_ms: int = 0,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.defaults = SimConfig(
            tokens_per_s=clamp("tokens_per_s", tokens_per_s), think_ms=int(think_ms)
        )
        self.config = SimConfig(**asdict(self.defaults))
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.vector_stores: dict[str, dict[str, Any]] = {}
        self.vector_store_files: dict[tuple[str, str], dict[str, Any]] = {}
        self.stopping = threading.Event()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.app = build_app(self)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread: threading.Thread | None = None

    def configure(
        self,
        *,
        delay_ms: int | None = None,
        tokens_per_s: float | None = None,
        think_ms: int | None = None,
        fail_next: list[int] | None = None,
    ) -> None:
        """Set defaults: delay before the first token, token rate, thinking time, statuses
        for the next model requests (e.g. `fail_next=[429, 429]`). Values are clamped."""
        with self._lock:
            if delay_ms is not None:
                self.config.delay_ms = int(clamp("delay_ms", delay_ms))
            if tokens_per_s is not None:
                self.config.tokens_per_s = clamp("tokens_per_s", tokens_per_s)
            if think_ms is not None:
                self.config.think_ms = int(clamp("think_ms", think_ms))
            if fail_next is not None:
                self.config.fail_next = [int(status) for status in fail_next][:100]

    def reset(self) -> None:
        """Forget recorded requests and restore the default configuration."""
        with self._lock:
            self.config = SimConfig(**asdict(self.defaults))
            self.requests.clear()

    def serve_forever(self) -> None:
        """Run in the current thread until interrupted (standalone use)."""
        logging.getLogger("uvicorn.error").addFilter(_CONNECTION_CUT_FILTER)
        self._server.run(sockets=[self._socket])

    def start(self) -> None:
        """Serve in a daemon thread; return once it accepts connections."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="llm-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the LLM simulator did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving (open streams are cut) and wait for the thread."""
        self.stopping.set()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def record(self, request: Request, body: Any) -> dict[str, Any]:
        entry = {
            "method": request.method,
            "path": request.url.path,
            "body": body,
            "headers": {k: v for k, v in request.headers.items() if k.startswith("x-sim")},
            "status": 200,
            "disconnected": False,
            "time": time.time(),
        }
        self.requests.append(entry)
        return entry

    def authorized(self, request: Request) -> bool:
        """Whether a control request carries `Authorization: Bearer <token>`."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    def options(self, request: Request, text: str, model: str) -> _Options:
        found = markers(text)
        with self._lock:
            queued = self.config.fail_next.pop(0) if self.config.fail_next else None
            delay_ms, rate = self.config.delay_ms, self.config.tokens_per_s
            think_ms = self.config.think_ms if is_reasoning_model(model) else 0
        fault = str(queued) if queued else found.get("fault") or request.headers.get("x-sim-fault")
        tokens = found.get("tokens")
        incomplete = found.get("incomplete")
        return _Options(
            fault=fault,
            delay=clamp("delay_ms", found.get("delay_ms", delay_ms)) / 1000,
            rate=clamp("tokens_per_s", found.get("tokens_per_s", rate)),
            tokens=int(clamp("tokens", tokens, 1)) if tokens else None,
            think=clamp("think_ms", found.get("think_ms", think_ms)) / 1000,
            gap=clamp("gap_ms", found.get("gap_ms", 0)) / 1000,
            incomplete=incomplete if incomplete == "content_filter" else None,
            refuse=found.get("refuse") == "1",
            ignore_limit=found.get("ignore_limit") == "1",
        )

    def vector_file_for(self, vector_store_ids: list[str]) -> tuple[str, str] | None:
        """A (file id, filename) attached to one of the vector stores, to cite."""
        for (store_id, file_id), _ in self.vector_store_files.items():
            if store_id in vector_store_ids and file_id in self.files:
                return file_id, self.files[file_id]["filename"]
        return ("file-sim-doc", "document.txt") if vector_store_ids else None


def start_simulator(
    port: int = 0, *, token: str | None = None, tokens_per_s: float = 0.0, think_ms: int = 0
) -> SimulatorServer:
    """Start the simulator on 127.0.0.1 (port 0 = any free port) in a background thread.

    `token` guards the control routes (random when None); `tokens_per_s` and `think_ms` are
    the default pace (demo mode streams at a human pace; tests at full speed).
    """
    server = SimulatorServer(port, token=token, tokens_per_s=tokens_per_s, think_ms=think_ms)
    server.start()
    return server


# ---------------------------------------------------------------- HTTP helpers


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def _error(status: int, message: str, code: str | None = None) -> Response:
    kind = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        404: "invalid_request_error",
    }
    kind[429] = "requests"
    body = {
        "error": {
            "message": message,
            "type": kind.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    retried = status in (408, 409, 429) or status >= 500  # statuses the SDK retries
    headers = {"retry-after-ms": RETRY_AFTER_MS} if retried else None
    return _json(body, status, headers)


def _http_fault(status: int) -> Response:
    if status == 401:
        return _error(401, "Incorrect API key provided (simulated).", "invalid_api_key")
    if status == 429:
        return _error(429, "Rate limit reached (simulated).", "rate_limit_exceeded")
    if status >= 500:
        return _error(status, "The server had an error processing your request (simulated).")
    return _error(status, f"Simulated HTTP {status} error.")


def _unsupported_parameter(body: dict[str, Any]) -> str | None:
    """The sampling parameter a reasoning model refuses, if the request sends one."""
    if not is_reasoning_model(str(body.get("model", ""))):
        return None
    return next((key for key in ("temperature", "top_p") if body.get(key) is not None), None)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _png(size: int = 64) -> bytes:
    rows = b"".join(
        b"\x00" + bytes(v for x in range(size) for v in (x * 4 % 256, y * 4 % 256, 180))
        for y in range(size)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


CHART_PNG = _png()


class _SSEStream:
    """Streams pre-rendered SSE bytes with delay/rate/faults; notices a client that leaves."""

    def __init__(
        self,
        entry: dict[str, Any],
        rendered: RenderedStream,
        options: _Options,
        stopping: threading.Event,
    ) -> None:
        self.entry = entry
        self.rendered = rendered
        self.options = options
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        writer = asyncio.ensure_future(self._write(send))
        watcher = asyncio.ensure_future(self._watch(receive))
        done, _ = await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if writer in done:
            watcher.cancel()
            writer.result()  # re-raises _ConnectionCut so uvicorn drops the connection
            return
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.entry["disconnected"] = True
        self.entry["disconnected_at"] = time.time()

    async def _pause(self, seconds: float | None) -> None:
        """Sleep (None: until the client leaves); cut the connection if the simulator stops."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self.stopping.is_set():
            left = STOP_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, STOP_POLL_SECONDS))
        raise _ConnectionCut

    async def _write(self, send: Send) -> None:
        async def emit(chunks: list[bytes]) -> None:
            if chunks:
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )

        options, rendered = self.options, self.rendered
        if rendered.think is not None and options.think:
            await emit(rendered.head[: rendered.think])
            await self._pause(options.think)  # thinking: not a byte for a while
            await emit(rendered.head[rendered.think :])
        else:
            await emit(rendered.head)
        if options.delay:
            await self._pause(options.delay)
        deltas = rendered.deltas
        gap_at = len(deltas) // 2 if options.gap else -1
        if options.fault in ("error_midstream", "error_nested", "cut_midstream"):
            deltas = deltas[: max(len(deltas) // 2, 1)]
        elif options.fault == "hang":
            deltas = deltas[:2]
        batch: list[bytes] = []
        start = time.monotonic()
        for index, chunk in enumerate(deltas):
            if index == gap_at:
                await emit(batch)
                batch = []
                await self._pause(options.gap)
                start += options.gap
            if options.rate:
                wait = start + index / options.rate - time.monotonic()
                if wait > 0:
                    await emit(batch)
                    batch = []
                    await self._pause(wait)
            batch.append(chunk)
            if len(batch) >= SEND_BATCH:
                await emit(batch)
                batch = []
        await emit(batch)
        if options.fault == "cut_midstream":
            raise _ConnectionCut
        if options.fault == "hang":
            await self._pause(None)
        ending = {"error_midstream": rendered.failure, "error_nested": rendered.nested_failure}
        await emit(ending.get(options.fault or "", rendered.tail))
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# ---------------------------------------------------------------- request parsing


def _text_of(content: Any) -> tuple[str, int, int]:
    if isinstance(content, str):
        return content, 0, 0
    texts, images, files = [], 0, 0
    for part in content or []:
        kind = part.get("type", "")
        if kind in ("input_text", "output_text", "text"):
            texts.append(part.get("text", ""))
        elif kind in ("input_image", "image_url"):
            images += 1
        elif kind in ("input_file", "file"):
            files += 1
    return "\n".join(texts), images, files


def _responses_prompt(body: dict[str, Any]) -> Prompt:
    raw = body.get("input") or []
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    messages = []
    for item in items:
        if "role" in item:
            messages.append((item["role"], *_text_of(item.get("content"))))
        else:
            messages.append(("tool", orjson.dumps(item).decode(), 0, 0))
    tools = {tool.get("type", "") for tool in body.get("tools") or []}
    return Prompt(body.get("model", ""), body.get("instructions") or "", messages, tools)


def _chat_prompt(body: dict[str, Any]) -> Prompt:
    system, messages = [], []
    for message in body.get("messages") or []:
        text, images, files = _text_of(message.get("content"))
        if message.get("role") in ("system", "developer"):
            system.append(text)
        else:
            messages.append((message.get("role", "user"), text, images, files))
    return Prompt(body.get("model", ""), "\n".join(system), messages)


# ---------------------------------------------------------------- routes


def build_app(sim: SimulatorServer) -> Starlette:
    """The simulator's ASGI app, bound to `sim`'s state."""

    async def model_request(request: Request, kind: str) -> Response | _SSEStream:
        body = orjson.loads(await request.body() or b"{}")
        entry = sim.record(request, body)
        prompt = _responses_prompt(body) if kind == "responses" else _chat_prompt(body)
        options = sim.options(request, prompt.last_user_text, prompt.model)
        entry["fault"] = options.fault
        if options.fault and options.fault.isdigit():
            entry["status"] = int(options.fault)
            return _http_fault(entry["status"])
        refused = _unsupported_parameter(body)
        if refused is not None:  # what gpt-5* and the o-series answer
            entry["status"] = 400
            return _error(
                400,
                f"Unsupported parameter: '{refused}' is not supported with this model.",
                "unsupported_parameter",
            )
        vector_stores = [
            store_id
            for tool in body.get("tools") or []
            for store_id in tool.get("vector_store_ids", [])
        ]
        plan = plan_reply(prompt, options.tokens, sim.vector_file_for(vector_stores))
        if options.refuse:
            plan = refusal_plan(plan)
        if options.incomplete == "content_filter":
            plan.filter_content()
        if kind == "responses" and not options.ignore_limit:
            plan.limit(_int_or_none(body.get("max_output_tokens")))
        rid = sim.next_id("resp_sim" if kind == "responses" else "chatcmpl-sim")
        if body.get("stream"):
            render = render_responses if kind == "responses" else render_chat
            return _SSEStream(entry, render(rid, body, plan), options, sim.stopping)
        return await _complete(request, entry, options, kind, rid, body, plan)

    async def _complete(
        request: Request,
        entry: dict[str, Any],
        options: _Options,
        kind: str,
        rid: str,
        body: dict[str, Any],
        plan: Plan,
    ) -> Response:
        """A non-streaming answer; stream faults become a hang or a 500."""
        await asyncio.sleep(options.delay)
        if options.fault == "hang":
            while not (sim.stopping.is_set() or await request.is_disconnected()):
                await asyncio.sleep(STOP_POLL_SECONDS)
            entry["disconnected"] = True
            return Response(status_code=499)
        if options.fault in STREAM_FAULTS:
            entry["status"] = 500
            return _http_fault(500)
        if kind == "chat":
            return _json(chat_completion(rid, body, plan))
        output = final_output(rid, plan, body)
        status = "incomplete" if plan.incomplete else "completed"
        return _json(response_object(rid, body, status, output, responses_usage(plan), plan))

    async def responses(request: Request) -> Any:
        return await model_request(request, "responses")

    async def chat(request: Request) -> Any:
        return await model_request(request, "chat")

    async def upload_file(request: Request) -> Response:
        form = await request.form()
        upload = form["file"]
        content = await upload.read()  # type: ignore[union-attr]
        purpose = str(form.get("purpose", "assistants"))
        filename = getattr(upload, "filename", None) or "upload.bin"
        sim.record(request, {"filename": filename, "purpose": purpose, "bytes": len(content)})
        file_id = sim.next_id("file-sim")
        sim.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        sim.contents[file_id] = content
        return _json(sim.files[file_id])

    async def file_route(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        sim.record(request, None)
        if file_id not in sim.files:
            return _error(404, f"No such File object: {file_id}")
        if request.method == "DELETE":
            del sim.files[file_id]
            sim.contents.pop(file_id, None)
            return _json({"id": file_id, "object": "file", "deleted": True})
        return _json(sim.files[file_id])

    async def file_content(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        sim.record(request, None)
        if file_id not in sim.contents:
            return _error(404, f"No such File object: {file_id}")
        return Response(sim.contents[file_id], media_type="application/octet-stream")

    def store_view(store_id: str) -> dict[str, Any]:
        counts = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0}
        usage = 0
        for (owner, _), entry in sim.vector_store_files.items():
            if owner == store_id:
                view = store_file_view(entry)
                counts[view["status"]] += 1
                usage += view["usage_bytes"]
        store = sim.vector_stores[store_id]
        return {
            **store,
            "usage_bytes": usage,
            "file_counts": {**counts, "total": sum(counts.values())},
            "status": "in_progress" if counts["in_progress"] else "completed",
        }

    def store_file_view(entry: dict[str, Any]) -> dict[str, Any]:
        view = {key: value for key, value in entry.items() if not key.startswith("_")}
        if time.monotonic() - entry["_started"] < INDEXING_SECONDS:
            return {**view, "status": "in_progress"}
        if entry["_fails"]:
            error = {"code": "invalid_file", "message": "The simulator could not index this file."}
            return {**view, "status": "failed", "last_error": error}
        return {**view, "status": "completed", "usage_bytes": entry["_bytes"]}

    async def create_store(request: Request) -> Response:
        body = orjson.loads(await request.body() or b"{}")
        sim.record(request, body)
        store_id = sim.next_id("vs_sim")
        sim.vector_stores[store_id] = {
            "id": store_id,
            "object": "vector_store",
            "created_at": int(time.time()),
            "name": body.get("name") or "",
            "metadata": body.get("metadata") or {},
            "last_active_at": int(time.time()),
        }
        for file_id in body.get("file_ids") or []:
            attach(store_id, file_id)
        return _json(store_view(store_id))

    async def store_route(request: Request) -> Response:
        store_id = request.path_params["store_id"]
        sim.record(request, None)
        if store_id not in sim.vector_stores:
            return _error(404, f"No such vector store: {store_id}")
        if request.method == "DELETE":
            del sim.vector_stores[store_id]
            for key in [key for key in sim.vector_store_files if key[0] == store_id]:
                del sim.vector_store_files[key]
            return _json({"id": store_id, "object": "vector_store.deleted", "deleted": True})
        return _json(store_view(store_id))

    def attach(store_id: str, file_id: str) -> dict[str, Any]:
        entry = {
            "id": file_id,
            "object": "vector_store.file",
            "created_at": int(time.time()),
            "vector_store_id": store_id,
            "usage_bytes": 0,
            "last_error": None,
            "status": "in_progress",
            "_started": time.monotonic(),
            "_fails": INDEXING_FAIL_MARKER in sim.contents.get(file_id, b""),
            "_bytes": len(sim.contents.get(file_id, b"")),
        }
        sim.vector_store_files[(store_id, file_id)] = entry
        return store_file_view(entry)

    async def add_store_file(request: Request) -> Response:
        store_id = request.path_params["store_id"]
        body = orjson.loads(await request.body() or b"{}")
        sim.record(request, body)
        if store_id not in sim.vector_stores:
            return _error(404, f"No such vector store: {store_id}")
        if body.get("file_id") not in sim.files:
            return _error(404, f"No such File object: {body.get('file_id')}")
        return _json(
            attach(store_id, body["file_id"]), headers={"openai-poll-after-ms": POLL_AFTER_MS}
        )

    async def store_file_route(request: Request) -> Response:
        key = (request.path_params["store_id"], request.path_params["file_id"])
        sim.record(request, None)
        if key not in sim.vector_store_files:
            return _error(404, f"No such vector store file: {key[1]}")
        if request.method == "DELETE":
            del sim.vector_store_files[key]
            return _json({"id": key[1], "object": "vector_store.file.deleted", "deleted": True})
        return _json(
            store_file_view(sim.vector_store_files[key]),
            headers={"openai-poll-after-ms": POLL_AFTER_MS},
        )

    async def models(request: Request) -> Response:
        sim.record(request, None)
        ids = [model["id"] for model in orjson.loads(MODEL_CATALOG.read_bytes())["models"]]
        data = [
            {"id": model_id, "object": "model", "created": 0, "owned_by": "simulator"}
            for model_id in ids
        ]
        return _json({"object": "list", "data": data})

    async def container_file(request: Request) -> Response:
        sim.record(request, None)
        return Response(CHART_PNG, media_type="image/png")

    def refused(request: Request) -> Response | None:
        if sim.authorized(request):
            return None
        return _error(401, "The simulator's control routes need Authorization: Bearer <token>.")

    async def recorded(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        if request.method == "DELETE":
            sim.requests.clear()
            return _json({"deleted": True})
        return _json(list(sim.requests))

    async def config(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        if request.method == "POST":
            try:
                sim.configure(**orjson.loads(await request.body() or b"{}"))
            except (TypeError, ValueError, orjson.JSONDecodeError) as exc:
                return _error(400, f"Bad simulator config: {exc}")
        return _json(asdict(sim.config))

    return Starlette(
        routes=[
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/files", upload_file, methods=["POST"]),
            Route("/v1/files/{file_id}", file_route, methods=["GET", "DELETE"]),
            Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
            Route("/v1/vector_stores", create_store, methods=["POST"]),
            Route("/v1/vector_stores/{store_id}", store_route, methods=["GET", "DELETE"]),
            Route("/v1/vector_stores/{store_id}/files", add_store_file, methods=["POST"]),
            Route(
                "/v1/vector_stores/{store_id}/files/{file_id}",
                store_file_route,
                methods=["GET", "DELETE"],
            ),
            Route("/v1/models", models, methods=["GET"]),
            Route(
                "/v1/containers/{container_id}/files/{file_id}/content",
                container_file,
                methods=["GET"],
            ),
            Route("/_sim/requests", recorded, methods=["GET", "DELETE"]),
            Route("/_sim/config", config, methods=["GET", "POST"]),
        ]
    )


def main() -> None:
    """Standalone: `python -m simulator --port 8765`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tokens-per-second", type=float, default=0.0)
    args = parser.parse_args()
    server = SimulatorServer(
        args.port,
        token=os.environ.get("SIMULATOR_TOKEN") or None,
        tokens_per_s=args.tokens_per_second,
    )
    print(f"LLM simulator on {server.base_url} (OPENAI_BASE_URL)", flush=True)
    if not os.environ.get("SIMULATOR_TOKEN"):
        print(f"Control routes: Authorization: Bearer {server.token}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
