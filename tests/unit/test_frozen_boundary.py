"""Where a streaming reply's finished blocks end (rendered once, the tail stays plain text)."""

from __future__ import annotations

import time

from components.chat_message import frozen_boundary


def test_boundary_is_after_the_last_blank_line_outside_a_fence() -> None:
    assert frozen_boundary("one\n\ntwo", 0) == 5
    assert frozen_boundary("one\n\n\ntwo", 0) == 6
    assert frozen_boundary("one\n\n```\ncode\n\nmore", 0) == 5  # the fence is still open
    assert frozen_boundary("one\n\n```\ncode\n\n```\n\nafter", 0) == 20
    assert frozen_boundary("no blank line yet", 0) == 0
    assert frozen_boundary("a\n\nb\n\nc", 3) == 6


def test_an_open_fence_full_of_blank_lines_is_linear() -> None:
    """Once per streamed flush on the event loop: must not rescan the text per blank line."""
    text = "```\n" + "\n\n" * 50_000
    start = time.perf_counter()
    assert frozen_boundary(text, 0) == 0
    assert time.perf_counter() - start < 0.5  # guard; a rescan per blank line took seconds


def test_an_open_code_block_is_the_whole_tail() -> None:
    """Issue 14: the tail starts at an opening fence line and ends after a closing one, so an
    open code block streams by appending and prose tails stay short."""
    assert frozen_boundary("intro line\n```python\nx = 1\n", 0) == 11
    assert frozen_boundary("```js\nlet a;\n```\nafter", 0) == 17
    assert frozen_boundary("```js\nlet a;\n```", 0) == 0  # the closing line is not complete
    assert frozen_boundary("say ``` inline", 0) == 0  # not at a line start
