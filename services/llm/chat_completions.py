"""Adapter for OpenAI-compatible Chat Completions servers (no built-in tools).

Requested built-in tools are announced as `ToolActivity(status="unavailable")` and the reply
is still produced. The stream is read raw with orjson, as in `responses.py`.

The output cap goes out as `max_completion_tokens` to OpenAI (which deprecated `max_tokens`
and whose o-series refuse it) and as `max_tokens` to other servers (vLLM, Ollama, llama.cpp,
older gateways know only that one); CHAT_MAX_TOKENS_PARAM overrides the choice. The usage
chunk is read in both shapes seen on the wire: the spec's `choices: []` and LiteLLM's
`choices: [{"index": 0, "delta": {}}]` with an extra `cost` field (ignored: we price tokens
ourselves).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import urlsplit

from openai import AsyncOpenAI

from services.llm.base import (
    ContextMessage,
    Done,
    ProviderError,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    Usage,
)
from services.llm.errors import map_exception, stream_broken
from services.llm.sse import iter_sse_json, paced_bytes
from services.llm.tools import unavailable

MaxTokensParam = Literal["max_completion_tokens", "max_tokens"]
OPENAI_HOSTS = frozenset({"api.openai.com"})


def max_tokens_param(setting: str, base_url: str | None) -> MaxTokensParam:
    """The output-cap parameter for a server: `setting` unless "auto", else by its host."""
    if setting in ("max_completion_tokens", "max_tokens"):
        return setting  # type: ignore[return-value]
    host = urlsplit(base_url).hostname if base_url else None
    return "max_completion_tokens" if host is None or host in OPENAI_HOSTS else "max_tokens"


class ChatCompletionsProvider:
    """`LLMProvider` on `client.chat.completions`."""

    name = "chat-completions"
    supported_tools: frozenset[str] = frozenset()

    def __init__(self, client: AsyncOpenAI, cap_param: MaxTokensParam = "max_tokens") -> None:
        self.client = client
        self.cap_param = cap_param

    async def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the reply; see `LLMProvider` for the end and cancellation rules."""
        for tool in request.tools:
            yield unavailable(tool)
        params = _params(request, self.cap_param)
        response_id: str | None = None
        model: str | None = None
        usage: Usage | None = None
        finished = False
        try:
            async with (
                self.client.chat.completions.with_streaming_response.create(
                    stream=True, stream_options={"include_usage": True}, **params
                ) as response,
                contextlib.aclosing(paced_bytes(response)) as body,
            ):
                async for chunk in iter_sse_json(body):
                    choices = chunk.get("choices")
                    if choices:
                        choice = choices[0]
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield TextDelta(text)
                        if choice.get("finish_reason"):
                            finished = True
                    elif "error" in chunk:
                        error = chunk["error"] or {}
                        yield stream_broken(str(error.get("message") or "provider error"))
                        return
                    if chunk.get("usage"):
                        usage = _usage_from(chunk["usage"])
                    response_id = response_id or chunk.get("id")
                    model = model or chunk.get("model")
        except Exception as exc:  # CancelledError/GeneratorExit are not Exceptions
            yield map_exception(exc)
            return
        if not finished:
            yield stream_broken("the stream ended before the reply was complete")
            return
        if usage is not None:
            yield usage
        yield Done(response_id, model)

    async def complete_text(
        self, model: str, instructions: str, text: str, max_output_tokens: int
    ) -> tuple[str, Usage]:
        """One non-streaming answer; raises `ProviderError`."""
        messages = _messages(instructions, [ContextMessage(role="user", text=text)])
        try:
            completion = await self.client.chat.completions.create(
                model=model, messages=messages, **{self.cap_param: max_output_tokens}
            )
        except Exception as exc:
            raise ProviderError(map_exception(exc)) from exc
        content = completion.choices[0].message.content if completion.choices else None
        usage = completion.usage.to_dict() if completion.usage else {}
        return content or "", _usage_from(usage)


def _params(request: ReplyRequest, cap_param: MaxTokensParam) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request.instructions, request.messages),
    }
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.max_output_tokens is not None:
        params[cap_param] = request.max_output_tokens
    return params


def _messages(instructions: str, messages: list[ContextMessage]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    if instructions:
        result.append({"role": "system", "content": instructions})
    for message in messages:
        if message.role == "assistant" or not (message.images or message.files):
            result.append({"role": message.role, "content": message.text})
            continue
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in message.images]
        parts += [{"type": "file", "file": {"file_id": file_id}} for file_id in message.files]
        result.append({"role": "user", "content": parts})
    return result


def _usage_from(usage: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        cached_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        reasoning_tokens=(usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        or 0,
    )
