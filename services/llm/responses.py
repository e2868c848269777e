"""Adapter for the OpenAI Responses API (streaming, built-in tools).

Speed: the stream is read raw through `client.responses.with_streaming_response.create`
(the SDK's own HTTP client, retries and status-error mapping still apply) and each SSE
event is parsed with orjson into a dict, instead of the SDK's typed pydantic events, which
cost about half of the server CPU under load. See bench/provider_overhead.py for figures.
"""

from __future__ import annotations

import contextlib
import mimetypes
import posixpath
import re
from collections.abc import AsyncIterator
from typing import Any

from openai import AsyncOpenAI

from services.llm.base import (
    BUILTIN_TOOLS,
    Citation,
    ContextMessage,
    Done,
    ErrorCategory,
    GeneratedFile,
    IncompleteReason,
    ProviderError,
    ReplyError,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    Thinking,
    ToolActivity,
    Usage,
)
from services.llm.errors import error_from_body, map_exception, stream_broken
from services.llm.sse import iter_sse_json, paced_bytes
from services.llm.tools import tool_activity, unavailable

PARAGRAPH = "\n\n"  # between two message items (gpt-5 sends a preamble, then the answer)
_SANDBOX_LINK = re.compile(r"sandbox:/mnt/data/([^\s)\]]+)")
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
                        for out in state.text(event):
                            yield out
                        continue
                    for out in state.handle(kind, event):
                        yield out
                    if state.finished:
                        return
        except Exception as exc:  # CancelledError/GeneratorExit are not Exceptions
            yield state.error or map_exception(exc)
            return
        yield state.error or stream_broken("the stream ended before the reply was complete")

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
        text = response.output_text
        usage = _usage_from(response.usage.to_dict() if response.usage else None, _ToolCounts())
        if response.status == "incomplete" and not text.strip():
            # A reasoning model can spend the whole limit thinking: no summary, not an empty
            # one; the tokens were billed all the same, so the usage goes with the error.
            reason = getattr(response.incomplete_details, "reason", None) or "incomplete"
            error = ReplyError(ErrorCategory.bad_request, _incomplete_text(reason))
            raise ProviderError(error, usage)
        return text, usage


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
    reasoning: dict[str, str] = {}
    if request.reasoning_effort:
        reasoning["effort"] = request.reasoning_effort
    if request.reasoning_summary:
        reasoning["summary"] = "auto"
    if reasoning:
        params["reasoning"] = reasoning
    # `store` defaults to true upstream; the app never uses previous_response_id.
    params["store"] = request.store
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
        if kind == "web_search_call" and _is_search(item):
            self.web_search += 1
        elif kind == "file_search_call":
            self.file_search += 1
        elif kind == "code_interpreter_call":
            self.containers.add(item.get("container_id") or item_id)


def _is_search(item: dict[str, Any]) -> bool:
    """Only a web search's `search` action is billed; `open_page` / `find_in_page` are not."""
    action = item.get("action")
    return not isinstance(action, dict) or action.get("type", "search") == "search"


def _usage_from(usage: dict[str, Any] | None, counts: _ToolCounts) -> Usage:
    usage = usage or {}
    input_details = usage.get("input_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("input_tokens") or 0,
        cached_tokens=input_details.get("cached_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        reasoning_tokens=(usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0,
        cache_write_tokens=input_details.get("cache_write_tokens") or 0,
        web_search_calls=counts.web_search,
        file_search_calls=counts.file_search,
        code_interpreter_sessions=len(counts.containers),
    )


_INCOMPLETE = {
    "max_output_tokens": IncompleteReason.length,
    "content_filter": IncompleteReason.content_filter,
}


def _incomplete_text(reason: str) -> str:
    if reason == "max_output_tokens":
        return "The model used its whole output limit before it finished (often on reasoning)."
    if reason == "content_filter":
        return "The provider's content filter stopped the reply."
    return f"The provider ended the reply early ({reason})."


class _StreamState:
    """Everything but plain text: reasoning, tools, citations, usage and the end of the stream.

    The reply text is the message items' texts joined by a paragraph break; annotation
    offsets are relative to their own output_text part, so each part's start in the whole
    text is remembered (`_parts`) and added to them.
    """

    def __init__(self, input_files: set[str]) -> None:
        self.input_files = input_files
        self.generated: set[str] = set()
        self.counts = _ToolCounts()
        self.response_id: str | None = None
        self.model: str | None = None
        self.finished = False
        self.refused = False
        self.error: ReplyError | None = None
        self.chunks: list[str] = []
        self.length = 0
        self._parts: dict[tuple[Any, Any], int] = {}
        self._last_item: Any = None
        self._summary_parts: set[tuple[Any, Any]] = set()
        self._named: set[str] = set()

    def text(self, event: dict[str, Any]) -> list[ReplyEvent]:
        """A text (or refusal) delta, with a paragraph break before a new message item."""
        delta = event.get("delta") or ""
        key = (event.get("item_id"), event.get("content_index"))
        out: list[ReplyEvent] = []
        if key not in self._parts:
            if self.length and event.get("item_id") != self._last_item:
                out.append(self._append(PARAGRAPH))
            self._parts[key] = self.length
            self._last_item = event.get("item_id")
        if delta:
            out.append(self._append(delta))
        return out

    def _append(self, text: str) -> TextDelta:
        self.chunks.append(text)
        self.length += len(text)
        return TextDelta(text)

    def handle(self, kind: str | None, event: dict[str, Any]) -> list[ReplyEvent]:
        match kind:
            case "response.created":
                response = event.get("response") or {}
                self.response_id = response.get("id")
                self.model = response.get("model")
            case "response.refusal.delta":
                self.refused = True
                return self.text(event)
            case "response.reasoning_summary_text.delta":
                return [Thinking(self._summary_break(event) + (event.get("delta") or ""))]
            case "response.output_item.added" | "response.output_item.done":
                return self._item(kind, event.get("item") or {})
            case "response.output_text.annotation.added":
                key = (event.get("item_id"), event.get("content_index"))
                return self._annotation(event.get("annotation") or {}, self._parts.get(key, 0))
            case "response.completed" | "response.incomplete":
                return self._end(event.get("response") or {})
            case "response.failed":
                response = event.get("response") or {}
                self.finished = True
                failure = self.error or error_from_body(
                    response.get("error") or {}, "the reply failed"
                )
                return [_usage_from(response.get("usage"), self.counts), failure]
            case "error":
                # Usually followed by `response.failed` with the billed usage: keep reading;
                # the error is reported when the stream ends (see `stream_reply`).
                self.error = error_from_body(event, "the provider reported an error")
        return []

    def _summary_break(self, event: dict[str, Any]) -> str:
        key = (event.get("item_id"), event.get("summary_index"))
        first = not self._summary_parts
        if key in self._summary_parts:
            return ""
        self._summary_parts.add(key)
        return "" if first else PARAGRAPH

    def _end(self, response: dict[str, Any]) -> list[ReplyEvent]:
        self.finished = True
        incomplete = None
        if response.get("status") == "incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason") or ""
            incomplete = _INCOMPLETE.get(reason, IncompleteReason.other)
        return [
            _usage_from(response.get("usage"), self.counts),
            Done(
                response.get("id") or self.response_id,
                response.get("model") or self.model,
                incomplete=incomplete,
                refused=self.refused,
            ),
        ]

    def _item(self, kind: str, item: dict[str, Any]) -> list[ReplyEvent]:
        if item.get("type") == "reasoning" and kind == "response.output_item.added":
            return [Thinking()]
        tool = _TOOL_ITEMS.get(item.get("type") or "")
        if tool is None:
            return []
        if kind == "response.output_item.added":
            return [tool_activity(tool, "in_progress")]
        self.counts.count(item)
        status = item.get("status") or "completed"
        return [tool_activity(tool, "completed" if status == "completed" else "failed")]

    def _annotation(self, note: dict[str, Any], base: int) -> list[ReplyEvent]:
        kind = note.get("type")
        if kind == "url_citation":
            url = note.get("url")
            return [
                Citation(
                    kind="url",
                    title=note.get("title") or url or "Source",
                    url=url,
                    start=_shift(note.get("start_index"), base),
                    end=_shift(note.get("end_index"), base),
                )
            ]
        if kind == "file_citation":
            filename = note.get("filename")
            index = _shift(note.get("index"), base)
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
            return self._container_file(note, base)
        return []

    def _container_file(self, note: dict[str, Any], base: int) -> list[ReplyEvent]:
        file_id = note.get("file_id")
        filename = self._file_name(note.get("filename"), file_id)
        container_id = note.get("container_id")
        start, end = note.get("start_index"), note.get("end_index")
        if not start and not end:  # 0/0 means "no position" here: cite at the end
            start = end = None
        events: list[ReplyEvent] = [
            Citation(
                kind="container_file",
                title=filename,
                file_id=file_id,
                container_id=container_id,
                filename=filename,
                start=_shift(start, base),
                end=_shift(end, base),
            )
        ]
        if file_id and file_id not in self.input_files and file_id not in self.generated:
            self.generated.add(file_id)
            mime = mimetypes.guess_type(filename)[0]
            events.append(GeneratedFile(file_id, container_id, filename, mime))
        return events

    def _file_name(self, filename: str | None, file_id: str | None) -> str:
        """A name a person recognises: the provider names files `cfile_….png`, so the
        sandbox link in the text (`sandbox:/mnt/data/chart.png`) wins when there is one."""
        if filename and not filename.startswith("cfile_"):
            return filename
        extension = posixpath.splitext(filename or "")[1]
        linked = _SANDBOX_LINK.findall("".join(self.chunks))
        for name in linked:
            name = posixpath.basename(name)
            if name.endswith(extension) and name not in self._named:
                self._named.add(name)
                return name
        return f"generated-file-{len(self.generated) + 1}{extension or ''}"


def _shift(offset: Any, base: int) -> int | None:
    return offset + base if isinstance(offset, int) else None
