"""Adapter for the OpenAI Responses API (streaming, built-in tools).

Speed: the stream is read raw through `client.responses.with_streaming_response.create`
(the SDK's own HTTP client, retries and status-error mapping still apply) and each SSE
event is parsed with orjson into a dict, instead of the SDK's typed pydantic events, which
cost about half of the server CPU under load. See bench/provider_overhead.py for figures.
"""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import AsyncIterator
from typing import Any

from openai import AsyncOpenAI

from services.llm.base import (
    BUILTIN_TOOLS,
    Citation,
    ContextMessage,
    Done,
    GeneratedFile,
    ProviderError,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    ToolActivity,
    Usage,
)
from services.llm.errors import map_exception, stream_broken
from services.llm.sse import iter_sse_json, paced_bytes
from services.llm.tools import tool_activity, unavailable

_TOOL_ITEMS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
}


class ResponsesProvider:
    """`LLMProvider` on `client.responses`."""

    name = "openai-responses"
    supported_tools = frozenset(BUILTIN_TOOLS)

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the reply; see `LLMProvider` for the end and cancellation rules."""
        tools, skipped = _tools(request)
        for activity in skipped:
            yield activity
        params = _params(request, tools)
        state = _StreamState({f for m in request.messages for f in m.files})
        try:
            async with (
                self.client.responses.with_streaming_response.create(
                    stream=True, **params
                ) as response,
                contextlib.aclosing(paced_bytes(response)) as body,
            ):
                async for event in iter_sse_json(body):
                    kind = event.get("type")
                    if kind == "response.output_text.delta":
                        yield TextDelta(event["delta"])
                        continue
                    for out in state.handle(kind, event):
                        yield out
                    if state.finished:
                        return
        except Exception as exc:  # CancelledError/GeneratorExit are not Exceptions
            yield map_exception(exc)
            return
        yield stream_broken("the stream ended before the reply was complete")

    async def complete_text(
        self, model: str, instructions: str, text: str, max_output_tokens: int
    ) -> tuple[str, Usage]:
        """One non-streaming answer; raises `ProviderError`."""
        try:
            response = await self.client.responses.create(
                model=model,
                instructions=instructions,
                input=text,
                max_output_tokens=max_output_tokens,
            )
        except Exception as exc:
            raise ProviderError(map_exception(exc)) from exc
        usage = response.usage.to_dict() if response.usage else None
        return response.output_text, _usage_from(usage, _ToolCounts())


def _tools(request: ReplyRequest) -> tuple[list[dict[str, Any]], list[ToolActivity]]:
    tools: list[dict[str, Any]] = []
    skipped: list[ToolActivity] = []
    for name in request.tools:
        if name == "web_search":
            tools.append({"type": "web_search"})
        elif name == "file_search" and request.vector_store_ids:
            tools.append({"type": "file_search", "vector_store_ids": request.vector_store_ids})
        elif name == "file_search":
            skipped.append(unavailable(name, "has no files to search yet"))
        elif name == "code_interpreter":
            tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
        else:
            skipped.append(unavailable(name))
    return tools, skipped


def _params(request: ReplyRequest, tools: list[dict[str, Any]]) -> dict[str, Any]:
    params: dict[str, Any] = {"model": request.model, "input": _input(request.messages)}
    if request.instructions:
        params["instructions"] = request.instructions
    if tools:
        params["tools"] = tools
    for key in ("temperature", "top_p", "max_output_tokens"):
        value = getattr(request, key)
        if value is not None:
            params[key] = value
    return params


def _input(messages: list[ContextMessage]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant" or not (message.images or message.files):
            items.append({"role": message.role, "content": message.text})
            continue
        parts: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}]
        parts += [
            {"type": "input_image", "image_url": url, "detail": "auto"} for url in message.images
        ]
        parts += [{"type": "input_file", "file_id": file_id} for file_id in message.files]
        items.append({"role": "user", "content": parts})
    return items


class _ToolCounts:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.web_search = 0
        self.file_search = 0
        self.containers: set[str] = set()

    def count(self, item: dict[str, Any]) -> None:
        item_id = item.get("id") or str(len(self.seen))
        if item_id in self.seen:
            return
        self.seen.add(item_id)
        kind = item.get("type")
        if kind == "web_search_call":
            self.web_search += 1
        elif kind == "file_search_call":
            self.file_search += 1
        elif kind == "code_interpreter_call":
            self.containers.add(item.get("container_id") or item_id)


def _usage_from(usage: dict[str, Any] | None, counts: _ToolCounts) -> Usage:
    usage = usage or {}
    return Usage(
        input_tokens=usage.get("input_tokens") or 0,
        cached_tokens=(usage.get("input_tokens_details") or {}).get("cached_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        reasoning_tokens=(usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0,
        web_search_calls=counts.web_search,
        file_search_calls=counts.file_search,
        code_interpreter_sessions=len(counts.containers),
    )


class _StreamState:
    """Everything but text deltas: tools, citations, usage and the end of the stream."""

    def __init__(self, input_files: set[str]) -> None:
        self.input_files = input_files
        self.generated: set[str] = set()
        self.counts = _ToolCounts()
        self.response_id: str | None = None
        self.model: str | None = None
        self.finished = False

    def handle(self, kind: str | None, event: dict[str, Any]) -> list[ReplyEvent]:
        match kind:
            case "response.created":
                response = event.get("response") or {}
                self.response_id = response.get("id")
                self.model = response.get("model")
            case "response.refusal.delta":
                return [TextDelta(event.get("delta") or "")]
            case "response.output_item.added" | "response.output_item.done":
                return self._tool_item(kind, event.get("item") or {})
            case "response.output_text.annotation.added":
                return self._annotation(event.get("annotation") or {})
            case "response.completed" | "response.incomplete":
                response = event.get("response") or {}
                self.finished = True
                return [
                    _usage_from(response.get("usage"), self.counts),
                    Done(
                        response.get("id") or self.response_id, response.get("model") or self.model
                    ),
                ]
            case "response.failed":
                error = (event.get("response") or {}).get("error") or {}
                self.finished = True
                return [stream_broken(error.get("message") or "the provider reported a failure")]
            case "error":
                self.finished = True
                return [stream_broken(event.get("message") or "the provider reported an error")]
        return []

    def _tool_item(self, kind: str, item: dict[str, Any]) -> list[ReplyEvent]:
        tool = _TOOL_ITEMS.get(item.get("type") or "")
        if tool is None:
            return []
        if kind == "response.output_item.added":
            return [tool_activity(tool, "in_progress")]
        self.counts.count(item)
        status = item.get("status") or "completed"
        return [tool_activity(tool, "completed" if status == "completed" else "failed")]

    def _annotation(self, note: dict[str, Any]) -> list[ReplyEvent]:
        kind = note.get("type")
        if kind == "url_citation":
            url = note.get("url")
            return [
                Citation(
                    kind="url",
                    title=note.get("title") or url or "Source",
                    url=url,
                    start=note.get("start_index"),
                    end=note.get("end_index"),
                )
            ]
        if kind == "file_citation":
            filename = note.get("filename")
            index = note.get("index")
            return [
                Citation(
                    kind="file",
                    title=filename or "File",
                    file_id=note.get("file_id"),
                    filename=filename,
                    start=index,
                    end=index,
                )
            ]
        if kind == "container_file_citation":
            return self._container_file(note)
        return []

    def _container_file(self, note: dict[str, Any]) -> list[ReplyEvent]:
        file_id = note.get("file_id")
        filename = note.get("filename") or file_id or "file"
        container_id = note.get("container_id")
        events: list[ReplyEvent] = [
            Citation(
                kind="container_file",
                title=filename,
                file_id=file_id,
                container_id=container_id,
                filename=filename,
                start=note.get("start_index"),
                end=note.get("end_index"),
            )
        ]
        if file_id and file_id not in self.input_files and file_id not in self.generated:
            self.generated.add(file_id)
            mime = mimetypes.guess_type(filename)[0]
            events.append(GeneratedFile(file_id, container_id, filename, mime))
        return events
