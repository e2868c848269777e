"""The small protocol the chat service uses to talk to a model provider.

A provider turns a `ReplyRequest` into an async stream of `ReplyEvent`s. Adapters live next
to this module (`responses.py`, `chat_completions.py`); `factory.get_provider` picks one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

BUILTIN_TOOLS = ("web_search", "file_search", "code_interpreter")
ToolName = Literal["web_search", "file_search", "code_interpreter"]


@dataclass(frozen=True, slots=True)
class ContextMessage:
    """One message of the context sent to the model.

    `images` are data: or https URLs (image input parts); `files` are provider file ids
    given to the turn as input_file parts.
    """

    role: Literal["user", "assistant"]
    text: str
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """Everything a provider needs to produce one reply."""

    model: str
    instructions: str
    messages: list[ContextMessage]
    tools: list[str] = field(default_factory=list)
    vector_store_ids: list[str] = field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    # Only set for models that accept them (the chat service checks the catalog's traits).
    reasoning_effort: str | None = None
    reasoning_summary: bool = False
    store: bool = False


class ErrorCategory(StrEnum):
    """Why a reply failed; the chat service maps it to a message status and a Retry offer."""

    rate_limited = "rate_limited"
    quota = "quota"
    auth = "auth"
    bad_request = "bad_request"
    provider_down = "provider_down"
    timeout = "timeout"
    stream_broken = "stream_broken"
    cancelled = "cancelled"


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class Thinking:
    """The model is reasoning; `summary` is the next piece of its reasoning summary (if any).

    Reasoning tokens are billed inside the output tokens of `Usage`; the summary text is not
    part of the reply text and is not counted again.
    """

    summary: str = ""


@dataclass(frozen=True, slots=True)
class ToolActivity:
    """Progress of a built-in tool (status: in_progress, completed, failed, unavailable)."""

    tool: str
    status: str
    label: str


@dataclass(frozen=True, slots=True)
class Citation:
    """A source the reply cites; start/end are character offsets in the reply text."""

    kind: Literal["url", "file", "container_file"]
    title: str
    url: str | None = None
    file_id: str | None = None
    container_id: str | None = None
    filename: str | None = None
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """A file the model produced (code interpreter); download it from its container."""

    file_id: str
    container_id: str | None
    filename: str
    mime: str | None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and tool calls of one reply; reasoning tokens are included in output tokens."""

    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cache_write_tokens: int = 0
    web_search_calls: int = 0
    file_search_calls: int = 0
    code_interpreter_sessions: int = 0


class IncompleteReason(StrEnum):
    """Why the provider cut a reply short (`response.incomplete`)."""

    length = "max_output_tokens"
    content_filter = "content_filter"
    other = "other"


@dataclass(frozen=True, slots=True)
class Done:
    """The reply ended with a response: complete, cut short (`incomplete`) or refused.

    `model` is the name the provider answered with (often a dated snapshot).
    """

    response_id: str | None
    model: str | None
    incomplete: IncompleteReason | None = None
    refused: bool = False


@dataclass(frozen=True, slots=True)
class ReplyError:
    """The reply failed; `message` is friendly, safe to show, and never contains the key."""

    category: ErrorCategory
    message: str


ReplyEvent = (
    TextDelta | Thinking | ToolActivity | Citation | GeneratedFile | Usage | Done | ReplyError
)


class ProviderError(Exception):
    """Raised by `LLMProvider.complete_text`; carries the same category and message."""

    def __init__(self, error: ReplyError, usage: Usage | None = None) -> None:
        super().__init__(error.message)
        self.category = error.category
        self.message = error.message
        self.usage = usage  # what the provider billed anyway (an incomplete answer), if known


def cancelled_error() -> ReplyError:
    """The error a caller records when it stops a reply itself (Stop button, closed tab)."""
    return ReplyError(ErrorCategory.cancelled, "Stopped before the reply finished.")


class LLMProvider(Protocol):
    """A model provider.

    `stream_reply` is an async generator that ends with exactly one `Done` or `ReplyError`
    when consumed to the end. Stopping is the caller's act, so the generator does not report
    it: cancelling the consuming task (CancelledError) or calling `aclose()` on the
    generator closes the HTTP stream at once and lets the CancelledError / GeneratorExit
    propagate without yielding anything more. The caller records `cancelled_error()` itself.
    Use `contextlib.aclosing(...)` (or `aclose()`) when breaking out of the loop early, so
    the stream is closed now and not when the generator is garbage-collected.
    `complete_text` raises `ProviderError` on failure.
    """

    name: str
    supported_tools: frozenset[str]

    def stream_reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the reply to `request` as events."""
        ...

    async def complete_text(
        self, model: str, instructions: str, text: str, max_output_tokens: int
    ) -> tuple[str, Usage]:
        """One non-streaming answer (summaries, titles)."""
        ...
