"""Pick the provider adapter named by settings."""

from __future__ import annotations

from app.config import Settings
from services.llm.base import LLMProvider
from services.llm.chat_completions import ChatCompletionsProvider
from services.llm.client import make_async_client
from services.llm.responses import ResponsesProvider


def get_provider(settings: Settings, base_url_override: str | None = None) -> LLMProvider:
    """The adapter for LLM_API ("responses" or "chat_completions") on a fresh SDK client.

    `base_url_override` is the simulator's URL in demo mode.
    """
    client = make_async_client(settings, base_url_override)
    if settings.llm_api == "chat_completions":
        return ChatCompletionsProvider(client)
    return ResponsesProvider(client)
