"""The Chat Completions adapter's output cap: max_completion_tokens for OpenAI, max_tokens for
other servers (CHAT_MAX_TOKENS_PARAM), checked on the bodies the real SDK sends."""

from __future__ import annotations

import pytest

from services.llm.base import ContextMessage, Done, ReplyRequest
from services.llm.chat_completions import max_tokens_param
from services.llm.factory import get_provider
from simulator.server import SimulatorServer
from tests.simulator_fixtures import llm_settings


@pytest.mark.parametrize(
    ("setting", "base_url", "expected"),
    [
        ("auto", None, "max_completion_tokens"),  # no OPENAI_BASE_URL: OpenAI itself
        ("auto", "https://api.openai.com/v1", "max_completion_tokens"),
        ("auto", "http://127.0.0.1:11434/v1", "max_tokens"),  # Ollama, vLLM, a gateway
        ("auto", "https://litellm.example.com/v1", "max_tokens"),
        ("max_tokens", "https://api.openai.com/v1", "max_tokens"),
        ("max_completion_tokens", "http://127.0.0.1:8000/v1", "max_completion_tokens"),
    ],
)
def test_the_cap_parameter_follows_the_server(setting: str, base_url: str, expected: str) -> None:
    assert max_tokens_param(setting, base_url) == expected


@pytest.mark.parametrize("setting", ["auto", "max_tokens", "max_completion_tokens"])
async def test_the_sdk_sends_the_chosen_cap_parameter_only(
    sim: SimulatorServer, setting: str
) -> None:
    settings = llm_settings(sim.base_url, llm_api="chat_completions", chat_max_tokens_param=setting)
    provider = get_provider(settings)
    request = ReplyRequest(
        model="o4-mini",
        instructions="Be brief.",
        messages=[ContextMessage(role="user", text="Hello")],
        max_output_tokens=300,
    )
    events = [event async for event in provider.stream_reply(request)]
    assert isinstance(events[-1], Done)
    await provider.complete_text("o4-mini", "Be brief.", "Title this.", 40)
    sent = "max_tokens" if setting == "auto" else setting  # the simulator is not OpenAI
    other = {"max_tokens", "max_completion_tokens"} - {sent}
    bodies = [r["body"] for r in sim.requests if r["path"] == "/v1/chat/completions"]
    assert [body[sent] for body in bodies] == [300, 40]
    assert not any(other & body.keys() for body in bodies)
