"""The one place that builds the openai SDK client from settings."""

from __future__ import annotations

import httpx2
from openai import AsyncOpenAI

from core.config import Settings

# The SDK refuses to start without a key; the simulator (demo mode) accepts any.
DEMO_API_KEY = "sim-demo-key"


def make_async_client(settings: Settings, base_url: str | None = None) -> AsyncOpenAI:
    """An `AsyncOpenAI` client with key, base URL, timeouts and retries from settings.

    Connecting must be quick; a read may wait LLM_READ_TIMEOUT_SECONDS of silence (reasoning
    models think for minutes). The whole reply's deadline is the chat service's.

    `base_url` (the simulator's URL in demo mode) wins over OPENAI_BASE_URL. Without a key
    a placeholder is sent, so a real provider answers 401 and the user is told to set
    OPENAI_API_KEY.
    """
    return AsyncOpenAI(
        api_key=settings.openai_api_key or DEMO_API_KEY,
        base_url=base_url or settings.openai_base_url or None,
        timeout=httpx2.Timeout(
            settings.llm_read_timeout_seconds, connect=settings.llm_connect_timeout_seconds
        ),
        max_retries=settings.llm_max_retries,
    )
