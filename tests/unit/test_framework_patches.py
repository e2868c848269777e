"""The two places that lean on framework internals still fit the installed versions.

`app/nicegui_tuning.py` replaces `nicegui.helpers.expects_arguments`, and `services/llm/sse.py`
paces reads by swapping `read` on the HTTP connection behind the SDK's streaming response.
Both would go quiet (no error, just lost speed) if a NiceGUI, openai or httpx2 release moved
what they rely on; these tests fail loudly instead, naming what changed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

import pytest
from nicegui import helpers
from nicegui.classes import Classes
from nicegui.props import Props
from nicegui.style import Style

from app import nicegui_tuning
from services.llm.client import make_async_client
from services.llm.sse import iter_sse_json, paced_bytes
from simulator.server import SimulatorServer
from tests.simulator_fixtures import llm_settings


class _Element:
    """Stands in for a NiceGUI element: the collections only keep a reference to it."""


@pytest.fixture
def original_expects_arguments(monkeypatch: pytest.MonkeyPatch):
    """The installed NiceGUI function, restored after the test."""
    monkeypatch.setattr(helpers, "expects_arguments", nicegui_tuning._original)
    return nicegui_tuning._original


def test_expects_arguments_is_where_the_patch_puts_it(original_expects_arguments) -> None:
    assert original_expects_arguments.__module__ == "nicegui.helpers.functions"
    assert list(inspect.signature(original_expects_arguments).parameters) == ["func"]


def test_element_collections_still_ask_through_the_patched_name(
    original_expects_arguments, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The patch only pays off while NiceGUI looks the helper up as `helpers.expects_arguments`
    # on every element (classes, style and props each register a bound `_update`).
    asked: list[object] = []

    def spy(func):
        asked.append(func)
        return original_expects_arguments(func)

    monkeypatch.setattr(helpers, "expects_arguments", spy)
    element = _Element()
    collections = [Classes(element=element), Style(element=element), Props(element=element)]
    assert [getattr(func, "__func__", None) for func in asked] == [
        type(collection)._update for collection in collections
    ]


def test_the_patch_installs_and_answers_like_the_original(original_expects_arguments) -> None:
    nicegui_tuning.speed_up_nicegui()
    assert helpers.expects_arguments is nicegui_tuning._expects_arguments

    class Handler:
        def none(self) -> None: ...
        def one(self, event) -> None: ...
        def optional(self, event=None) -> None: ...

    def two(a, b=1) -> None: ...
    def star(*args, **kwargs) -> None: ...
    def keyword(*, key) -> None: ...

    handler = Handler()
    cases = [
        handler.none,
        handler.one,
        handler.optional,
        two,
        star,
        keyword,
        lambda: None,
        lambda event: None,
        functools.partial(two, 1),
        print,
    ]
    nicegui_tuning._cache.clear()
    for func in cases * 2:  # the second round answers from the cache
        assert helpers.expects_arguments(func) == original_expects_arguments(func), func
    assert nicegui_tuning._cache, "nothing was cached: the patch no longer takes effect"


def test_props_parse_is_cached_per_string_and_answers_like_the_original(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Props, "parse", staticmethod(nicegui_tuning._original_parse))
    nicegui_tuning.speed_up_nicegui()
    assert Props.parse is nicegui_tuning._parse
    nicegui_tuning._parsed.clear()
    texts = [
        'flat round dense size=sm aria-label="Copy answer" title="Copy answer"',
        "outlined dense autogrow maxlength=4000",
        "tabindex=0 aria-label='It\\'s'",
        "options=[1,2] config={'a':1}",  # mutable values: never shared between calls
        "",
        None,
    ]
    for text in texts * 2:
        assert Props.parse(text) == nicegui_tuning._original_parse(text), text
    assert texts[0] in nicegui_tuning._parsed and texts[3] not in nicegui_tuning._parsed
    first = Props.parse(texts[0])
    first["flat"] = False  # a caller changing its dict does not change the next answer
    assert Props.parse(texts[0])["flat"] is True
    # NiceGUI still parses through the name the patch replaces.
    element = _Element()
    props = Props(element=element)
    props._update = lambda: None  # type: ignore[method-assign]
    props("dense title=x")
    assert props == {"dense": True, "title": "x"}


def test_the_sdk_still_offers_raw_streaming_responses() -> None:
    client = make_async_client(llm_settings("http://127.0.0.1:9/v1"))
    assert callable(client.responses.with_streaming_response.create)
    assert callable(client.chat.completions.with_streaming_response.create)


async def test_paced_reads_reach_the_connection(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP stack still hands us its network stream and calls `read` on the instance."""
    client = make_async_client(llm_settings(sim.base_url))
    tokens = 40
    async with client.responses.with_streaming_response.create(
        model="gpt-4.1-mini",
        input=f"Count slowly [[sim:tokens={tokens}]] [[sim:tokens_per_s=100]]",
        stream=True,
    ) as response:
        stream = response.http_response.extensions.get("network_stream")
        assert stream is not None, "httpx2 no longer exposes the 'network_stream' extension"
        stream_class = type(stream)
        read_parameters = list(inspect.signature(stream_class.read).parameters)
        assert read_parameters[:3] == ["self", "max_bytes", "timeout"], read_parameters
        reads = 0
        class_read = stream_class.read

        async def counted_read(self, max_bytes, timeout=None):
            nonlocal reads
            reads += 1
            return await class_read(self, max_bytes, timeout)

        monkeypatch.setattr(stream_class, "read", counted_read)
        events = 0
        async with contextlib.aclosing(paced_bytes(response)) as body:
            async for _event in iter_sse_json(body):
                assert "read" in vars(stream), "the paced read was not installed"
                events += 1
        assert "read" not in vars(stream), "the paced read outlived its response"
    await client.close()
    # ~0.4 s of tokens, the socket read at most every READ_INTERVAL_SECONDS (0.1 s): about
    # five reads, not one per event (unpaced, the stack reads ~40 times here).
    assert events > tokens
    assert 0 < reads <= 12, (reads, events)
