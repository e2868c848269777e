"""The Chat Completions adapter against LiteLLM's proxy: an OpenAI-compatible server nobody
here wrote, with `mock_response` models, a master key and no database, on 127.0.0.1.

The proxy lives in its own virtualenv (`.litellm-venv/`, made by `bash .ci/litellm-venv`) so
its many pins stay out of uv.lock. Without it these tests skip, unless REQUIRE_LITELLM=1
(.ci/run sets it). One proxy serves the whole session; start-up waits for its readiness URL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.llm.base import (
    ContextMessage,
    Done,
    ErrorCategory,
    ProviderError,
    ReplyError,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    Usage,
)
from services.llm.chat_completions import ChatCompletionsProvider
from services.llm.factory import get_provider
from tests.simulator_fixtures import llm_settings

pytestmark = pytest.mark.litellm

ROOT = Path(__file__).resolve().parents[2]
LITELLM = ROOT / ".litellm-venv" / "bin" / "litellm"
MASTER_KEY = "sk-litellm-test-master-0123456789"
MODEL = "gpt-4.1-mini"
MOCK_TEXT = "Hello from the LiteLLM proxy, streamed in small pieces."
STARTUP_TIMEOUT_SECONDS = 180.0
CONFIG = f"""
model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_key: not-used-mock-response
      mock_response: "{MOCK_TEXT}"
general_settings:
  master_key: {MASTER_KEY}
litellm_settings:
  telemetry: false
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def litellm_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LiteLLM's proxy on a free port of 127.0.0.1; yields its /v1 base URL."""
    if not LITELLM.exists():
        reason = f"LiteLLM proxy not installed at {LITELLM}: run `bash .ci/litellm-venv`"
        if os.environ.get("REQUIRE_LITELLM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("litellm")
    config = folder / "config.yaml"
    config.write_text(CONFIG)
    port = _free_port()
    # A clean environment: the proxy would use DATABASE_URL or provider keys if it saw them.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list at start-up
        "LITELLM_TELEMETRY": "False",
    }
    log_path = folder / "proxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not _ready(f"{base}/health/readiness"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"LiteLLM proxy did not become ready on port {port}:\n{tail}")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def provider_for(base_url: str, **overrides: object) -> ChatCompletionsProvider:
    values: dict[str, object] = {
        "openai_api_key": MASTER_KEY,
        "llm_api": "chat_completions",
        "llm_max_retries": 0,
        "llm_timeout_seconds": 30.0,
    }
    values.update(overrides)
    provider = get_provider(llm_settings(base_url, **values))
    assert isinstance(provider, ChatCompletionsProvider)
    return provider


def ask(model: str = MODEL, text: str = "Say hello.") -> ReplyRequest:
    return ReplyRequest(
        model=model,
        instructions="Be brief.",
        messages=[ContextMessage(role="user", text=text)],
        max_output_tokens=64,
    )


async def collect(provider: ChatCompletionsProvider, request: ReplyRequest) -> list[ReplyEvent]:
    return [event async for event in provider.stream_reply(request)]


def only_error(events: list[ReplyEvent]) -> ReplyError:
    assert len(events) == 1 and isinstance(events[0], ReplyError), events
    return events[0]


def raw_stream_chunks(base_url: str) -> list[dict]:
    """The proxy's SSE chunks for one streamed reply, read without the SDK."""
    body = {
        "model": MODEL,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 64,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello."},
        ],
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode().splitlines()
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


@pytest.mark.parametrize("cap_param", ["max_tokens", "max_completion_tokens"])
async def test_streams_text_usage_and_done(litellm_proxy: str, cap_param: str) -> None:
    provider = provider_for(litellm_proxy, chat_max_tokens_param=cap_param)
    assert provider.cap_param == cap_param
    events = await collect(provider, ask())
    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 3  # streamed in pieces, not in one block
    assert "".join(delta.text for delta in deltas) == MOCK_TEXT
    usage = [event for event in events if isinstance(event, Usage)]
    assert len(usage) == 1 and usage[0].input_tokens > 0 and usage[0].output_tokens > 0
    done = events[-1]
    assert isinstance(done, Done) and done.model == MODEL
    assert done.response_id and done.response_id.startswith("chatcmpl-")


async def test_reads_litellms_final_usage_chunk(litellm_proxy: str) -> None:
    chunks = raw_stream_chunks(litellm_proxy)
    final = chunks[-1]
    # LiteLLM's shape, unlike the spec's `choices: []`: an empty delta, and a cost figure.
    assert final["choices"] == [{"index": 0, "delta": {}}]
    assert "cost" in final["usage"]
    events = await collect(provider_for(litellm_proxy), ask())
    usage = next(event for event in events if isinstance(event, Usage))
    assert usage.input_tokens == final["usage"]["prompt_tokens"]
    assert usage.output_tokens == final["usage"]["completion_tokens"]
    assert isinstance(events[-1], Done)


async def test_auto_sends_max_tokens_to_a_non_openai_server(litellm_proxy: str) -> None:
    provider = provider_for(litellm_proxy)  # CHAT_MAX_TOKENS_PARAM=auto
    assert provider.cap_param == "max_tokens"
    text, usage = await provider.complete_text(MODEL, "Be brief.", "Title this chat.", 32)
    assert text == MOCK_TEXT and usage.output_tokens > 0


async def test_wrong_key_is_an_auth_error(litellm_proxy: str) -> None:
    provider = provider_for(litellm_proxy, openai_api_key="sk-not-the-master-key-42")
    error = only_error(await collect(provider, ask()))
    assert error.category == ErrorCategory.auth
    assert "OPENAI_API_KEY" in error.message and "sk-not" not in error.message
    with pytest.raises(ProviderError) as caught:
        await provider.complete_text(MODEL, "", "hi", 16)
    assert caught.value.category == ErrorCategory.auth


async def test_unknown_model_is_a_bad_request_naming_it(litellm_proxy: str) -> None:
    error = only_error(await collect(provider_for(litellm_proxy), ask(model="no-such-model")))
    assert error.category == ErrorCategory.bad_request
    assert "no-such-model" in error.message
