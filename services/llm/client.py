"""The one place that builds the openai SDK client from settings."""

from __future__ import annotations

from openai import AsyncOpenAI

from core.config import Settings

# The SDK refuses to start without a key; the simulator (demo mode) accepts any.
DEMO_API_KEY = "sim-demo-key"


def make_async_client(settings: Settings, base_url: str | None = None) -> AsyncOpenAI:
    """An `AsyncOpenAI` client with key, base URL, timeout and retries from settings.

    `base_url` (the simulator's URL in demo mode) wins over OPENAI_BASE_URL. Without a key
    a placeholder is sent, so a real provider answers 401 and the user is told to set
    OPENAI_API_KEY.
    """
    return AsyncOpenAI(
        api_key=settings.openai_api_key or DEMO_API_KEY,
        base_url=base_url or settings.openai_base_url or None,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
