"""The render worker process: crafted messages off the event loop, a time limit, a budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from services.chat import render_worker, rendering

CRAFTED_LINKS = "echo: " + "[a](" * 7_990
SLOW = "*a" * 5_000  # about 0.3-1 s of rendering on the project machine


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    rendering.render_markdown.cache_clear()
    yield
    rendering.render_markdown.cache_clear()


@pytest.fixture(scope="module", autouse=True)
def worker() -> Iterator[None]:
    render_worker.warm([("start the worker " * 20, [])], budget_seconds=60)
    yield
    render_worker.shutdown()


def test_the_worker_renders_and_caches_a_crafted_message() -> None:
    html = render_worker.render_isolated(CRAFTED_LINKS)
    assert html == rendering.render_fresh(CRAFTED_LINKS)
    assert rendering.cached_html(CRAFTED_LINKS) == html


def test_a_render_past_the_time_limit_becomes_plain_text_and_is_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render_worker, "RENDER_TIMEOUT_SECONDS", 0.05)
    start = time.perf_counter()
    html = render_worker.render_isolated(SLOW)
    assert time.perf_counter() - start < 2.0  # guard: the worker stopped at its limit
    assert html == rendering.plain_html(SLOW)
    assert rendering.cached_html(SLOW) == html  # the next page load does not pay again
    monkeypatch.setattr(render_worker, "RENDER_TIMEOUT_SECONDS", 5.0)
    assert "<em>" in render_worker.render_isolated("*a* " * 100)  # the worker still works


def test_warm_returns_within_its_budget_and_the_rest_follows() -> None:
    messages = [(SLOW + str(n), []) for n in range(3)] + [("**short**", [])]
    start = time.perf_counter()
    done = render_worker.warm(messages, budget_seconds=0.1)
    assert time.perf_counter() - start < 1.0  # guard: it did not wait for the slow ones
    assert done < len(messages)
    assert rendering.cached_html("**short**") is not None  # rendered here, not queued
    assert "<em>" in render_worker.render_isolated(*messages[0])  # joins the job under way


def test_warm_does_not_hold_short_messages_for_a_slow_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker still starting (or starved on a busy machine) answers nothing in time; the
    short messages are ready anyway, and only the long one waits for it."""
    queued: list[str] = []

    def never_answers(text: str, citations: list[dict] | None) -> Future:
        queued.append(text)
        return Future()

    monkeypatch.setattr(render_worker, "_submit", never_answers)
    long = "*a* " * 60
    messages = [("**one**", []), (long, []), ("Plan two days in Lisbon.", [])]
    start = time.perf_counter()
    assert render_worker.warm(messages, budget_seconds=0.3) == 2
    assert time.perf_counter() - start < 1.0  # guard: the budget still bounds the wait
    assert queued == [long]
    assert rendering.cached_html("**one**") == "<p><strong>one</strong></p>\n"


def test_short_text_is_rendered_in_the_calling_thread() -> None:
    assert render_worker.render_isolated("**hi**") == "<p><strong>hi</strong></p>\n"


def test_without_a_worker_warm_renders_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker() -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(render_worker, "_worker", no_worker)
    assert render_worker.warm([("**bold** " * 40, [])]) == 1
    assert rendering.cached_html("**bold** " * 40) is not None
