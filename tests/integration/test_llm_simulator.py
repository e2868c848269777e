"""The simulator's own controls: recording, config endpoint, markers, typed SDK parsing."""

from __future__ import annotations

import time

import httpx
from openai import AsyncOpenAI

from services.llm.client import make_async_client
from simulator.server import LIMITS, REQUEST_LOG_SIZE, SimulatorServer, clamp
from tests.simulator_fixtures import TEST_API_KEY, llm_settings


def _root(sim: SimulatorServer) -> str:
    return sim.base_url.removesuffix("/v1")


async def test_typed_stream_helper_accepts_the_events(sim: SimulatorServer) -> None:
    client: AsyncOpenAI = make_async_client(llm_settings(sim.base_url))
    tools = [{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}}]
    async with client.responses.stream(
        model="gpt-5", input="a table please", tools=tools
    ) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert "| Model |" in final.output_text
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 64
    # gpt-5 with tools: reasoning, a preamble message, the tools (a search and an unbilled
    # open_page), then the answer; `model` is the snapshot.
    assert [item.type for item in final.output] == [
        "reasoning",
        "message",
        "web_search_call",
        "web_search_call",
        "code_interpreter_call",
        "message",
    ]
    assert final.output[3].action.type == "open_page"
    assert final.model == "gpt-5-2025-08-07"


async def test_markers_are_not_echoed_and_set_token_count(sim: SimulatorServer) -> None:
    client = make_async_client(llm_settings(sim.base_url))
    response = await client.responses.create(model="m", input="echo: hi [[sim:delay_ms=1]] there")
    assert response.output_text == "hi  there"
    response = await client.responses.create(model="m", input="[[sim:tokens=7]]")
    assert response.usage is not None and response.usage.output_tokens == 7


async def test_delay_and_rate_from_config(sim: SimulatorServer) -> None:
    sim.configure(delay_ms=150, tokens_per_s=200)
    client = make_async_client(llm_settings(sim.base_url))
    started = time.monotonic()
    stream = await client.responses.create(model="m", input="[[sim:tokens=20]]", stream=True)
    async for _ in stream:
        pass
    assert 0.2 < time.monotonic() - started < 1.5


def test_http_controls(sim: SimulatorServer) -> None:
    control = {"Authorization": f"Bearer {sim.token}"}
    with httpx.Client(base_url=_root(sim), headers=control) as http:
        config = http.post("/_sim/config", json={"fail_next": [500], "delay_ms": 5}).json()
        assert config == {"delay_ms": 5, "tokens_per_s": 0.0, "think_ms": 0, "fail_next": [500]}
        answer = http.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        )
        assert answer.status_code == 500 and answer.headers["retry-after-ms"]
        recorded = http.get("/_sim/requests").json()
        assert recorded[-1]["body"]["messages"][0]["content"] == "hi"
        assert TEST_API_KEY not in str(recorded)
        assert http.delete("/_sim/requests").status_code == 200
        assert http.get("/_sim/requests").json() == []


def test_control_routes_need_the_token(sim: SimulatorServer) -> None:
    """Issue 13 item 8: no local process reads prompts or injects faults without it."""
    with httpx.Client(base_url=_root(sim)) as http:
        for method, path in (("GET", "/_sim/requests"), ("DELETE", "/_sim/requests")):
            assert http.request(method, path).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert http.request(method, path, headers=wrong).status_code == 401
        assert http.post("/_sim/config", json={"fail_next": [500]}).status_code == 401
        assert sim.config.fail_next == []
        ok = {"Authorization": f"Bearer {sim.token}"}
        assert http.get("/_sim/config", headers=ok).status_code == 200


def test_token_is_random_per_start_unless_given() -> None:
    first, second = SimulatorServer(), SimulatorServer(token="tests-token")
    try:
        assert len(first.token) >= 24 and first.token != SimulatorServer().token
        assert second.token == "tests-token"
    finally:
        first._socket.close()
        second._socket.close()


def test_request_log_is_a_bounded_ring(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=_root(sim)) as http:
        for _ in range(REQUEST_LOG_SIZE + 20):
            http.get("/v1/models")
    assert len(sim.requests) == REQUEST_LOG_SIZE


async def test_marker_values_are_clamped(sim: SimulatorServer) -> None:
    """`[[sim:tokens=5000000]]` once crashed the simulator (StopIteration, +600 MiB)."""
    client = make_async_client(llm_settings(sim.base_url))
    response = await client.responses.create(model="m", input="[[sim:tokens=5000000]]")
    assert response.usage is not None and response.usage.output_tokens == LIMITS["tokens"][1]
    stream = await client.responses.create(
        model="m", input="[[sim:tokens=5000000]] [[sim:tokens_per_s=junk]]", stream=True
    )
    deltas = sum([event.type == "response.output_text.delta" async for event in stream])
    assert deltas == LIMITS["tokens"][1]
    started = time.monotonic()
    response = await client.responses.create(
        model="m", input="echo: hi [[sim:delay_ms=-5]] [[sim:delay_ms=abc]]"
    )
    assert response.output_text == "hi" and time.monotonic() - started < 2
    assert clamp("delay_ms", 10**12) == LIMITS["delay_ms"][1]
    sim.configure(delay_ms=10**9, tokens_per_s=-3)
    assert sim.config.delay_ms == LIMITS["delay_ms"][1] and sim.config.tokens_per_s == 0
