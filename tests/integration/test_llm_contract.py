"""Contract tests for both provider adapters: the real AsyncOpenAI against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from services.llm.base import (
    Citation,
    ContextMessage,
    Done,
    ErrorCategory,
    GeneratedFile,
    IncompleteReason,
    LLMProvider,
    ProviderError,
    ReplyError,
    ReplyEvent,
    ReplyRequest,
    TextDelta,
    Thinking,
    ToolActivity,
    Usage,
)
from services.llm.chat_completions import ChatCompletionsProvider
from services.llm.client import make_async_client
from services.llm.errors import error_from_body
from services.llm.factory import get_provider
from services.llm.responses import ResponsesProvider
from simulator.server import SimulatorServer
from tests.simulator_fixtures import TEST_API_KEY, llm_settings

APIS = ["responses", "chat_completions"]
MODEL_PATHS = {"/v1/responses", "/v1/chat/completions"}


def provider_for(sim: SimulatorServer, api: str, **overrides: object) -> LLMProvider:
    return get_provider(llm_settings(sim.base_url, llm_api=api, **overrides))


def ask(text: str, *history: ContextMessage, **fields: object) -> ReplyRequest:
    messages = [*history, ContextMessage(role="user", text=text)]
    return ReplyRequest(model="gpt-4.1-mini", instructions="Be brief.", messages=messages, **fields)


async def collect(provider: LLMProvider, request: ReplyRequest) -> list[ReplyEvent]:
    return [event async for event in provider.stream_reply(request)]


def text_of(events: list[ReplyEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def model_requests(sim: SimulatorServer) -> list[dict]:
    return [entry for entry in sim.requests if entry["path"] in MODEL_PATHS]


def last_error(events: list[ReplyEvent]) -> ReplyError:
    assert isinstance(events[-1], ReplyError), events[-1]
    assert sum(isinstance(event, ReplyError | Done) for event in events) == 1
    return events[-1]


def test_factory_picks_adapter_by_setting(sim: SimulatorServer) -> None:
    assert isinstance(provider_for(sim, "responses"), ResponsesProvider)
    assert isinstance(provider_for(sim, "chat_completions"), ChatCompletionsProvider)
    client = make_async_client(llm_settings("http://example.invalid/v1"), sim.base_url)
    assert str(client.base_url).startswith(sim.base_url)
    assert client.max_retries == 2


@pytest.mark.parametrize("api", APIS)
async def test_streams_text_usage_and_done(sim: SimulatorServer, api: str) -> None:
    events = await collect(provider_for(sim, api), ask("echo: Hello **world**, how are you?"))
    assert text_of(events) == "Hello **world**, how are you?"
    assert len([e for e in events if isinstance(e, TextDelta)]) > 3
    usage, done = events[-2], events[-1]
    assert isinstance(usage, Usage) and isinstance(done, Done)
    assert usage.output_tokens == len([e for e in events if isinstance(e, TextDelta)])
    assert usage.input_tokens > 0 and usage.cached_tokens == 0
    assert done.model == "gpt-4.1-mini" and done.response_id


@pytest.mark.parametrize("api", APIS)
async def test_request_carries_context_images_and_files(sim: SimulatorServer, api: str) -> None:
    history = ContextMessage(role="assistant", text="Earlier answer")
    request = ReplyRequest(
        model="gpt-4o",
        instructions="Be kind.",
        messages=[
            history,
            ContextMessage(
                role="user", text="Look", images=["data:image/png;base64,AAAA"], files=["file-1"]
            ),
        ],
        temperature=0.3,
        max_output_tokens=100,
    )
    events = await collect(provider_for(sim, api), request)
    assert isinstance(events[-1], Done)
    body = model_requests(sim)[-1]["body"]
    if api == "responses":
        assert body["instructions"] == "Be kind."
        assert body["max_output_tokens"] == 100
        parts = body["input"][-1]["content"]
        assert {part["type"] for part in parts} == {"input_text", "input_image", "input_file"}
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be kind."}
        assert body["stream_options"] == {"include_usage": True}
        parts = body["messages"][-1]["content"]
        assert {part["type"] for part in parts} == {"text", "image_url", "file"}
    assert body["temperature"] == 0.3
    assert "authorization" not in str(model_requests(sim)[-1]["headers"]).lower()


@pytest.mark.parametrize("api", APIS)
async def test_input_tokens_grow_with_context(sim: SimulatorServer, api: str) -> None:
    provider = provider_for(sim, api)
    short = await collect(provider, ask("echo: hi"))
    history = [ContextMessage(role="user", text="word " * 300)] * 4
    long = await collect(provider, ask("echo: hi", *history))
    short_usage, long_usage = short[-2], long[-2]
    assert isinstance(short_usage, Usage) and isinstance(long_usage, Usage)
    assert long_usage.input_tokens > short_usage.input_tokens + 1200
    assert long_usage.cached_tokens >= 1024 and long_usage.cached_tokens % 128 == 0


async def test_responses_tools_citations_and_generated_file(sim: SimulatorServer) -> None:
    request = ask(
        "What do my files say?",
        tools=["web_search", "file_search", "code_interpreter"],
        vector_store_ids=["vs_unknown"],
    )
    events = await collect(provider_for(sim, "responses"), request)
    activities = [(e.tool, e.status) for e in events if isinstance(e, ToolActivity)]
    for tool in ("web_search", "file_search", "code_interpreter"):
        assert activities.index((tool, "in_progress")) < activities.index((tool, "completed"))
    labels = {e.label for e in events if isinstance(e, ToolActivity)}
    assert "Searching files" in labels
    citations = {e.kind: e for e in events if isinstance(e, Citation)}
    assert citations["url"].url == "https://example.com/simulated-source"
    assert citations["file"].file_id and citations["file"].filename
    container = citations["container_file"]
    assert (container.container_id, container.filename) == ("cntr_sim", "chart.png")
    text = text_of(events)
    assert text[citations["url"].start : citations["url"].end].startswith("[example.com]")
    generated = [e for e in events if isinstance(e, GeneratedFile)]
    assert generated == [GeneratedFile("cfile_sim_chart", "cntr_sim", "chart.png", "image/png")]
    usage = events[-2]
    assert isinstance(usage, Usage)
    assert (usage.web_search_calls, usage.file_search_calls) == (1, 1)
    assert usage.code_interpreter_sessions == 1
    body = model_requests(sim)[-1]["body"]
    assert {"type": "code_interpreter", "container": {"type": "auto"}} in body["tools"]
    assert {"type": "file_search", "vector_store_ids": ["vs_unknown"]} in body["tools"]


async def test_responses_file_search_without_store_is_reported(sim: SimulatorServer) -> None:
    events = await collect(provider_for(sim, "responses"), ask("hi", tools=["file_search"]))
    assert events[0] == ToolActivity("file_search", "unavailable", events[0].label)
    assert "tools" not in model_requests(sim)[-1]["body"]
    assert isinstance(events[-1], Done)


async def test_chat_completions_reports_tools_unavailable(sim: SimulatorServer) -> None:
    request = ask("echo: still answers", tools=["web_search", "code_interpreter"])
    events = await collect(provider_for(sim, "chat_completions"), request)
    assert events[0] == ToolActivity(
        "web_search", "unavailable", "Web search is not available with this provider"
    )
    assert events[1].tool == "code_interpreter"
    assert text_of(events) == "still answers" and isinstance(events[-1], Done)
    assert "tools" not in model_requests(sim)[-1]["body"]


@pytest.mark.parametrize("api", APIS)
async def test_complete_text(sim: SimulatorServer, api: str) -> None:
    text, usage = await provider_for(sim, api).complete_text(
        "gpt-4.1-mini", "Summarize.", "echo: A short title", 50
    )
    assert text == "A short title"
    assert usage.output_tokens == 3 and usage.input_tokens > 0


@pytest.mark.parametrize("api", APIS)
async def test_complete_text_raises_provider_error(sim: SimulatorServer, api: str) -> None:
    with pytest.raises(ProviderError) as caught:
        await provider_for(sim, api).complete_text("m", "", "[[sim:fault=401]]", 10)
    assert caught.value.category is ErrorCategory.auth


@pytest.mark.parametrize("api", APIS)
async def test_sdk_retries_queued_429s_then_succeeds(sim: SimulatorServer, api: str) -> None:
    sim.configure(fail_next=[429, 429])
    events = await collect(provider_for(sim, api), ask("echo: ok"))
    assert text_of(events) == "ok" and isinstance(events[-1], Done)
    assert [entry["status"] for entry in model_requests(sim)] == [429, 429, 200]


@pytest.mark.parametrize(
    ("fault", "category", "attempts"),
    [
        ("429", ErrorCategory.rate_limited, 3),
        ("500", ErrorCategory.provider_down, 3),
        ("401", ErrorCategory.auth, 1),
    ],
)
@pytest.mark.parametrize("api", APIS)
async def test_http_faults_map_to_categories(
    sim: SimulatorServer, api: str, fault: str, category: ErrorCategory, attempts: int
) -> None:
    events = await collect(provider_for(sim, api), ask(f"hi [[sim:fault={fault}]]"))
    error = last_error(events)
    assert error.category is category
    assert len(model_requests(sim)) == attempts
    assert TEST_API_KEY not in error.message
    if fault == "401":
        assert "OPENAI_API_KEY" in error.message


async def test_fault_by_header_and_by_config(sim: SimulatorServer) -> None:
    client = make_async_client(llm_settings(sim.base_url, llm_max_retries=0))
    provider = ResponsesProvider(client.with_options(default_headers={"X-Sim-Fault": "500"}))
    assert last_error(await collect(provider, ask("hi"))).category is ErrorCategory.provider_down
    sim.configure(fail_next=[401])
    events = await collect(provider_for(sim, "responses"), ask("hi"))
    assert last_error(events).category is ErrorCategory.auth


@pytest.mark.parametrize("api", APIS)
async def test_unreachable_base_url_is_provider_down(sim: SimulatorServer, api: str) -> None:
    settings = llm_settings("http://127.0.0.1:9/v1", llm_api=api, llm_max_retries=0)
    error = last_error(await collect(get_provider(settings), ask("hi")))
    assert error.category is ErrorCategory.provider_down
    assert "OPENAI_BASE_URL" in error.message
    assert "127.0.0.1:9" not in error.message  # the endpoint only in the log, for operators


@pytest.mark.parametrize("fault", ["error_midstream", "cut_midstream"])
@pytest.mark.parametrize("api", APIS)
async def test_broken_stream_keeps_partial_text(sim: SimulatorServer, api: str, fault: str) -> None:
    events = await collect(provider_for(sim, api), ask(f"[[sim:fault={fault}]] [[sim:tokens=40]]"))
    error = last_error(events)
    assert error.category is ErrorCategory.stream_broken
    assert len([e for e in events if isinstance(e, TextDelta)]) == 20
    assert len(model_requests(sim)) == 1  # nothing is retried once a stream is under way


@pytest.mark.parametrize("api", APIS)
async def test_never_ending_reply_times_out(sim: SimulatorServer, api: str) -> None:
    provider = provider_for(sim, api, llm_read_timeout_seconds=0.4)
    started = time.monotonic()
    error = last_error(await collect(provider, ask("[[sim:fault=hang]]")))
    assert error.category is ErrorCategory.timeout
    assert "LLM_READ_TIMEOUT_SECONDS" in error.message
    assert time.monotonic() - started < 2


async def _wait_disconnected(sim: SimulatorServer) -> float:
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if model_requests(sim)[-1]["disconnected"]:
            return time.monotonic()
        await asyncio.sleep(0.01)
    raise AssertionError("the simulator did not see the client disconnect within 1 s")


@pytest.mark.parametrize("api", APIS)
async def test_cancelling_the_task_closes_the_stream(sim: SimulatorServer, api: str) -> None:
    provider = provider_for(sim, api)
    first_delta = asyncio.Event()
    received: list[ReplyEvent] = []

    async def consume() -> None:
        async for event in provider.stream_reply(ask("[[sim:tokens=500]] [[sim:tokens_per_s=50]]")):
            received.append(event)
            first_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_delta.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_disconnected(sim)
    assert not any(isinstance(event, Done | ReplyError) for event in received)


@pytest.mark.parametrize("api", APIS)
async def test_aclose_closes_the_stream(sim: SimulatorServer, api: str) -> None:
    provider = provider_for(sim, api)
    stream = provider.stream_reply(ask("[[sim:tokens=500]] [[sim:tokens_per_s=50]]"))
    async with contextlib.aclosing(stream):
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    await _wait_disconnected(sim)


async def test_any_http_status_can_be_injected(sim: SimulatorServer) -> None:
    sim.configure(fail_next=[503, 400])
    provider = provider_for(sim, "responses", llm_max_retries=0)
    assert last_error(await collect(provider, ask("hi"))).category is ErrorCategory.provider_down
    events = await collect(provider, ask("hi"))
    assert last_error(events).category is ErrorCategory.bad_request
    assert "Simulated HTTP 400" in events[-1].message
    assert isinstance((await collect(provider, ask("hi")))[-1], Done)


# ---------------------------------------------------------------- the real API's shapes
# (issue 12: reasoning models, cut-off and failed replies; each through the real SDK)


def reasoning_ask(text: str, **fields: object) -> ReplyRequest:
    messages = [ContextMessage(role="user", text=text)]
    return ReplyRequest(model="gpt-5-mini", instructions="", messages=messages, **fields)


async def test_reasoning_model_streams_thinking_and_its_summary(sim: SimulatorServer) -> None:
    request = reasoning_ask("echo: done", reasoning_effort="low", reasoning_summary=True)
    events = await collect(provider_for(sim, "responses"), request)
    thinking = [event for event in events if isinstance(event, Thinking)]
    assert thinking and thinking[0] == Thinking()  # the reasoning item opens first
    summary = "".join(event.summary for event in thinking)
    assert summary.startswith("**Reading the question**")
    assert text_of(events) == "done"  # the summary is not part of the answer
    usage = next(event for event in events if isinstance(event, Usage))
    assert usage.reasoning_tokens == 64 and usage.output_tokens == 64 + 1
    body = model_requests(sim)[-1]["body"]
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert "temperature" not in body and "top_p" not in body


async def test_reasoning_model_refuses_sampling_parameters(sim: SimulatorServer) -> None:
    """Row 1: what gpt-5* and o-series answer to temperature / top_p."""
    events = await collect(provider_for(sim, "responses"), reasoning_ask("hi", temperature=0.2))
    error = last_error(events)
    assert error.category is ErrorCategory.bad_request
    assert "Unsupported parameter: 'temperature'" in error.message


async def test_silent_gap_while_thinking_is_not_a_timeout(sim: SimulatorServer) -> None:
    """Row 3: a reasoning model is silent for longer than a read would like; the read
    timeout only has to outlast the silence."""
    provider = provider_for(sim, "responses", llm_read_timeout_seconds=3)
    started = time.monotonic()
    events = await collect(
        provider, reasoning_ask("echo: ok [[sim:think_ms=800]] [[sim:gap_ms=400]]")
    )
    assert time.monotonic() - started >= 1.2
    assert isinstance(events[-1], Done) and text_of(events) == "ok"
    client = make_async_client(llm_settings(sim.base_url, llm_read_timeout_seconds=600))
    assert client.timeout.read == 600 and client.timeout.connect == 10


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("[[sim:tokens=300]]", IncompleteReason.length),
        ("[[sim:tokens=300]] [[sim:incomplete=content_filter]]", IncompleteReason.content_filter),
    ],
)
async def test_incomplete_reply_keeps_text_and_usage(
    sim: SimulatorServer, marker: str, reason: IncompleteReason
) -> None:
    """Row 2: `response.incomplete` is its own ending, with the usage billed."""
    events = await collect(provider_for(sim, "responses"), ask(marker, max_output_tokens=200))
    done = events[-1]
    assert isinstance(done, Done) and done.incomplete is reason
    usage = events[-2]
    assert isinstance(usage, Usage) and 0 < usage.output_tokens <= 200
    assert text_of(events)


async def test_reasoning_can_spend_the_whole_limit(sim: SimulatorServer) -> None:
    events = await collect(
        provider_for(sim, "responses"), reasoning_ask("hi", max_output_tokens=40)
    )
    assert isinstance(events[-1], Done) and events[-1].incomplete is IncompleteReason.length
    assert text_of(events) == ""
    with pytest.raises(ProviderError, match="output limit") as raised:
        await provider_for(sim, "responses").complete_text("gpt-5-mini", "", "hi", 40)
    assert raised.value.usage is not None and raised.value.usage.output_tokens == 40


async def test_refusal_is_reported(sim: SimulatorServer) -> None:
    events = await collect(provider_for(sim, "responses"), ask("[[sim:refuse=1]]"))
    assert isinstance(events[-1], Done) and events[-1].refused
    assert text_of(events) == "I'm sorry, but I can't help with that."


async def test_nested_error_event_maps_to_its_category(sim: SimulatorServer) -> None:
    """Row 4: `{"type":"error","error":{"code":"insufficient_quota",...}}` on the live wire."""
    events = await collect(
        provider_for(sim, "responses"), ask("[[sim:fault=error_nested]] [[sim:tokens=20]]")
    )
    error = last_error(events)
    assert error.category is ErrorCategory.quota
    assert "out of credit" in error.message


def test_error_bodies_in_both_shapes() -> None:
    flat = error_from_body({"type": "error", "code": "rate_limit_exceeded", "message": "x"}, "")
    nested = error_from_body({"type": "error", "error": {"code": "rate_limit_exceeded"}}, "")
    assert flat == nested and flat.category is ErrorCategory.rate_limited
    unknown = error_from_body({"type": "error", "error": {"message": "odd"}}, "fallback")
    assert unknown.category is ErrorCategory.stream_broken and "odd" in unknown.message


async def test_failed_response_carries_usage(sim: SimulatorServer) -> None:
    """Row 5: `response.failed` reports what was billed."""
    events = await collect(
        provider_for(sim, "responses"), ask("[[sim:fault=error_midstream]] [[sim:tokens=40]]")
    )
    usage = next(event for event in events if isinstance(event, Usage))
    assert usage.output_tokens == 20 and usage.input_tokens > 0
    assert last_error(events).category is ErrorCategory.stream_broken


async def test_only_search_actions_count_as_web_searches(sim: SimulatorServer) -> None:
    """Row 6: an `open_page` web_search_call is not a search."""
    events = await collect(
        provider_for(sim, "responses"), reasoning_ask("hi", tools=["web_search"])
    )
    assert [item["action"]["type"] for item in _output_items(sim, "web_search_call")] == [
        "search",
        "open_page",
    ]
    usage = next(event for event in events if isinstance(event, Usage))
    assert usage.web_search_calls == 1


async def test_message_items_are_separated_and_citations_offset_per_part(
    sim: SimulatorServer,
) -> None:
    """Row 7: a preamble, then the answer; the citation points into the whole text."""
    events = await collect(
        provider_for(sim, "responses"), reasoning_ask("hi", tools=["web_search"])
    )
    text = text_of(events)
    assert text.startswith("Let me look into that.\n\nHere is a simulated answer")
    citation = next(event for event in events if isinstance(event, Citation))
    assert (
        text[citation.start : citation.end] == "[example.com](https://example.com/simulated-source)"
    )


async def test_container_file_citation_gets_a_real_name(sim: SimulatorServer) -> None:
    """Row 8: `cfile_….png` with offsets 0 becomes chart.png, cited at the end."""
    events = await collect(
        provider_for(sim, "responses"), reasoning_ask("hi", tools=["code_interpreter"])
    )
    citation = next(event for event in events if isinstance(event, Citation))
    assert (citation.filename, citation.start, citation.end) == ("chart.png", None, None)
    generated = [event for event in events if isinstance(event, GeneratedFile)]
    assert generated == [GeneratedFile("cfile_sim_chart", "cntr_sim", "chart.png", "image/png")]


async def test_response_names_the_snapshot(sim: SimulatorServer) -> None:
    """Row 9 (wire side): the model answers with its snapshot name."""
    events = await collect(provider_for(sim, "responses"), reasoning_ask("hi"))
    assert isinstance(events[-1], Done) and events[-1].model == "gpt-5-mini-2025-08-07"


async def test_store_is_off_unless_asked(sim: SimulatorServer) -> None:
    """Row 10: `store` defaults to true upstream, so it is always sent."""
    provider = provider_for(sim, "responses")
    await collect(provider, ask("hi"))
    assert model_requests(sim)[-1]["body"]["store"] is False
    await collect(provider, ask("hi", store=True))
    assert model_requests(sim)[-1]["body"]["store"] is True


def _output_items(sim: SimulatorServer, kind: str) -> list[dict]:
    """The items of that type the simulator streamed in its last reply (as the SDK parses)."""
    from simulator.replies import Prompt, plan_reply

    body = model_requests(sim)[-1]["body"]
    tools = {tool["type"] for tool in body.get("tools") or []}
    plan = plan_reply(Prompt(body["model"], "", [("user", "hi", 0, 0)], tools), None, None)
    return [item for item in plan.tool_items if item["type"] == kind]
