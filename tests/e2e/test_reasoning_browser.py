"""Issue 12: a new assistant on gpt-5-mini chats in demo mode with "Thinking…" visible."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser


def test_new_gpt5_mini_assistant_thinks_visibly_in_demo_mode(
    start_app: Callable[..., AppServer], page: Page
) -> None:
    app = start_app(SIMULATOR_TOKENS_PER_SECOND="40")  # the demo's human pace
    sign_up(page, app.url, "alice")
    page.goto(f"{app.url}/assistants/new")
    page.get_by_label("Name").fill("Deep thinker")
    page.get_by_text("Advanced").click()
    expect(page.get_by_label("Temperature")).to_be_visible()
    page.get_by_label("Model").click()
    page.get_by_role("option", name=re.compile(r"^GPT-5 mini")).click()
    expect(page.get_by_text("Temperature and Top P do not apply")).to_be_visible()
    expect(page.get_by_label("Temperature")).to_be_hidden()
    page.get_by_label("Reasoning effort").click()
    page.get_by_role("option", name="Low").click()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/assistants/\d+$"))
    page.get_by_role("button", name="Chat").first.click()
    expect(page.get_by_text("Say hello to Deep thinker")).to_be_visible()

    box = page.get_by_role("textbox", name="Message")
    box.fill("How do otters sleep?")
    box.press("Enter")
    thinking = page.get_by_role("status").filter(has_text="Thinking…")
    expect(thinking).to_be_visible(timeout=10_000)
    save_screenshot(page, "reasoning-thinking.png")
    expect(thinking).to_have_text(re.compile(r"Thinking… [12] s"), timeout=5_000)
    expect(page.get_by_text("Here is a simulated answer")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"Thought for \d+ s"))).to_be_visible()
    expect(page.get_by_text("Thinking…")).to_have_count(0)
