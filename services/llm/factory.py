"""Pick the provider adapter and the file store named by settings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from openai import AsyncOpenAI

from core.config import Settings
from services.llm.base import LLMProvider
from services.llm.chat_completions import ChatCompletionsProvider, max_tokens_param
from services.llm.client import make_async_client
from services.llm.files import FileStore, NoFileStore, OpenAIFileStore, opened
from services.llm.responses import ResponsesProvider


def get_provider(settings: Settings, base_url_override: str | None = None) -> LLMProvider:
    """The adapter for LLM_API ("responses" or "chat_completions") on a fresh SDK client.

    `base_url_override` is the simulator's URL in demo mode.
    """
    client = make_async_client(settings, base_url_override)
    if settings.llm_api == "chat_completions":
        base_url = base_url_override or settings.openai_base_url or None
        cap_param = max_tokens_param(settings.chat_max_tokens_param, base_url)
        return ChatCompletionsProvider(client, cap_param)
    return ResponsesProvider(client)


# The URL of the simulator the app started in demo mode (None: use OPENAI_BASE_URL).
_demo_base_url: str | None = None


def set_demo_base_url(url: str | None) -> None:
    """Remember the demo simulator's base URL (set at start-up, cleared at shutdown)."""
    global _demo_base_url
    _demo_base_url = url


def active_base_url(settings: Settings) -> str | None:
    """The base URL requests go to: the demo simulator's in demo mode, else OPENAI_BASE_URL."""
    if settings.demo_mode and _demo_base_url:
        return _demo_base_url
    return settings.openai_base_url or None


def make_active_client(settings: Settings) -> AsyncOpenAI:
    """An SDK client for the active provider (the demo simulator when one is running)."""
    return make_async_client(settings, active_base_url(settings))


# File-store backends by LLM_FILES name (Chainlit-style: pluggable, picked from settings).
FILE_STORES: dict[str, Callable[[Settings], FileStore]] = {
    "openai": lambda settings: OpenAIFileStore(make_active_client(settings)),
    "none": lambda settings: NoFileStore(),
}


def files_backend(settings: Settings) -> str:
    """LLM_FILES resolved: auto means openai with the Responses API, none with Chat
    Completions (the servers that speak only Chat Completions have no Files API)."""
    if settings.llm_files != "auto":
        return settings.llm_files
    return "openai" if settings.llm_api == "responses" else "none"


def open_file_store(settings: Settings) -> AbstractAsyncContextManager[FileStore]:
    """The active provider's file store, for `async with` (closed afterwards)."""
    return opened(FILE_STORES[files_backend(settings)](settings))


def documents_supported(settings: Settings) -> bool:
    """Whether the active provider stores documents (knowledge files, indexed attachments)."""
    return files_backend(settings) != "none"
