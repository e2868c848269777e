"""Issue 14 in real Chromium: highlighted code and MathML in light and dark, "Thinking…",
formatted streaming, the fixed layout with "Jump to latest", and feedback."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, save_screenshot
from tests.e2e.test_chat_browser import open_chat, send

pytestmark = pytest.mark.browser

CODE_AND_MATH = (
    "echo: The roots of $ax^2+bx+c=0$ are $x=\\frac{-b\\pm\\sqrt{b^2-4ac}}{2a}$.\n\n"
    "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n"
    "```python\nimport math\n\ndef roots(a: float, b: float, c: float) -> tuple[float, ...]:\n"
    '    """The real roots."""\n    d = b * b - 4 * a * c  # the discriminant\n'
    "    return () if d < 0 else ((-b - math.sqrt(d)) / (2 * a),)\n```\n\n- **Check** `d` first."
)
KEYWORD_COLOR = "() => getComputedStyle(document.querySelector('.code-block-wrap .k')).color"


def test_code_and_math_render_in_light_and_dark(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    page.set_viewport_size({"width": 1280, "height": 900})
    send(page, CODE_AND_MATH)
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=30_000)
    answer = page.locator(".chat-answer").last
    # Plain text until the Markdown worker (nice 10) renders it: seconds on a loaded machine.
    expect(answer.locator(".code-lang")).to_have_text("Python", timeout=20_000)
    expect(answer.get_by_role("button", name="Copy code")).to_be_visible()
    # Pygments' token classes: `import` is Keyword.Namespace (kn), `def` a Keyword (k).
    expect(answer.locator(".code-block-wrap .kn").first).to_have_text("import")
    expect(answer.locator(".code-block-wrap .k").first).to_have_text("def")
    maths = answer.locator("math")
    expect(maths).to_have_count(3)
    box = maths.nth(1).bounding_box()
    assert box is not None and box["width"] > 40 and box["height"] > 15  # drawn, not raw text
    expect(answer.locator("mfrac").first).to_be_attached()
    assert "\\frac" not in answer.inner_text() and "```" not in answer.inner_text()
    light = page.evaluate(KEYWORD_COLOR)
    save_screenshot(page, "chat-code-math-light.png")
    page.get_by_role("button", name="Toggle dark mode").click()
    page.wait_for_function(f"() => ({KEYWORD_COLOR})() !== {light!r}", timeout=10_000)
    save_screenshot(page, "chat-code-math-dark.png")
    # On a phone the long code line and the formulas scroll inside their blocks, not the page.
    # (Quasar lays the page out again a frame after the resize: wait for that, not longer.)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(
        "document.documentElement.scrollWidth <= window.innerWidth", timeout=5_000
    )
    code = answer.locator("pre.code-block")
    assert code.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls sideways
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    save_screenshot(page, "phone-chat-code-math.png", full_page=False)  # as the reader sees it


def test_thinking_then_formatted_streaming(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    items = "\n".join(f"- item *number {i}* is **bold**" for i in range(40))
    send(page, f"[[sim:delay_ms=2500]] [[sim:tokens_per_s=15]] echo: {items}")
    thinking = page.locator(".thinking-indicator")
    expect(thinking).to_be_visible(timeout=15_000)
    expect(thinking).to_contain_text("Thinking…")
    # While the list streams (one open block: nothing frozen yet), it is already a list with
    # emphasis, and no raw marker shows.
    tail = page.locator(".chat-streaming .chat-tail")
    expect(tail.locator("li em").first).to_be_visible(timeout=30_000)
    expect(thinking).to_have_count(0)
    assert page.locator(".chat-streaming").count() == 1  # still streaming
    text = tail.inner_text()
    assert "*" not in text and not re.search(r"^- ", text, re.M), text
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=60_000)
    expect(page.locator(".chat-answer").last.locator("li")).to_have_count(40)


def test_only_the_messages_scroll_and_jump_to_latest(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    page.set_viewport_size({"width": 1280, "height": 700})
    send(page, "[[sim:tokens=400]]")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=30_000)
    send(page, "[[sim:tokens=1500]] [[sim:tokens_per_s=30]]")
    expect(page.locator(".chat-streaming")).to_be_attached(timeout=15_000)
    messages = page.locator(".chat-messages")
    page.wait_for_function(
        "() => { const el = document.querySelector('.chat-messages');"
        " return el.scrollHeight > el.clientHeight + 200; }",
        timeout=15_000,
    )
    # The page itself does not scroll: title bar, list and composer stay in place.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    expect(page.get_by_role("textbox", name="Message")).to_be_in_viewport()
    expect(page.get_by_label("Conversation cost")).to_be_in_viewport()
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_hidden()
    messages.evaluate("el => el.scrollTo(0, 0)")  # the reader goes back up while it streams
    expect(jump).to_be_visible(timeout=10_000)
    top = messages.evaluate("el => el.scrollTop")
    page.wait_for_timeout(800)  # more text arrives: following is paused
    assert messages.evaluate("el => el.scrollTop") == top
    jump.click()
    expect(jump).to_be_hidden(timeout=10_000)
    page.wait_for_function(
        "() => { const el = document.querySelector('.chat-messages');"
        " return el.scrollTop + el.clientHeight >= el.scrollHeight - 80; }",
        timeout=10_000,
    )


def test_feedback_thumbs_and_comment(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    send(page, "echo: Rate me")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=30_000)
    good = page.get_by_role("button", name="Good answer")
    good.click()
    expect(good).to_have_attribute("aria-pressed", "true", timeout=10_000)
    page.get_by_role("button", name="Bad answer").click()
    expect(good).to_have_attribute("aria-pressed", "false", timeout=10_000)
    page.get_by_label("Comment (optional)").fill("Needs a source")
    page.get_by_role("button", name="Save comment").click()
    expect(page.get_by_text("Comment saved")).to_be_visible(timeout=10_000)
    page.reload()
    expect(page.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "true", timeout=15_000
    )
