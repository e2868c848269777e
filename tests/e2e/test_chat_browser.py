"""A chat turn streams visibly in real headless Chromium and survives reloads."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from core.db import build_engine
from models import Assistant
from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser

ANSWER = ".chat-answer"


def add_assistant(data_dir: Path) -> int:
    """An assistant for the first user, written straight into the app's database."""
    engine = build_engine(f"sqlite:///{data_dir / 'studio.db'}")
    with Session(engine) as session:
        assistant = Assistant(
            owner_id=1, name="Otter helper", instructions="Be brief.", model="gpt-4.1-mini"
        )
        session.add(assistant)
        session.commit()
        assistant_id = assistant.id
    engine.dispose()
    return assistant_id


def open_chat(app_server: AppServer, page: Page) -> None:
    sign_up(page, app_server.url, "alice")
    assistant_id = add_assistant(app_server.data_dir)
    page.goto(f"{app_server.url}/chat/new?assistant={assistant_id}")
    expect(page.get_by_text("Say hello to Otter helper")).to_be_visible()


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


# The streamed reply as the reader sees it: its Markdown (frozen blocks and the open tail),
# not the "Thinking…" indicator shown before the first token, and whether it still streams.
STREAMED = """() => {
  const answer = [...document.querySelectorAll('.chat-answer')].pop();
  const text = [...answer.querySelectorAll('.chat-md')].map((el) => el.innerText).join(' ');
  return {streaming: !!answer.querySelector('.chat-streaming'), words: text.split(/\\s+/)
    .filter(Boolean).length};
}"""


def test_a_turn_streams_visibly_and_survives_reload(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    send(page, "[[sim:tokens=150]] [[sim:tokens_per_s=40]]")
    expect(page.locator(".chat-streaming .chat-tail")).to_have_text(
        re.compile(r"\w"), timeout=15_000
    )
    samples: list[dict] = []
    for _ in range(8):
        time.sleep(0.3)
        samples.append(page.evaluate(STREAMED))
    words = [sample["words"] for sample in samples if sample["streaming"]]
    # The text grows while it streams (never shrinks), in several visible steps, before done.
    assert words == sorted(words) and len(set(words)) >= 4 and words[0] > 0, samples
    assert page.get_by_role("button", name="Send").is_disabled()

    page.reload()  # mid-stream: the reply keeps going on the server and shows up again
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=15_000)
    final = page.locator(ANSWER).last.inner_text()
    assert len(final.split()) == 150

    page.reload()
    expect(page.locator(ANSWER).last).to_have_text(final)
    expect(page.get_by_label("Conversation cost")).to_contain_text("Total $")


def test_screenshots_light_and_dark(app_server: AppServer, page: Page) -> None:
    open_chat(app_server, page)
    send(page, "Show me some code and a table please")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=15_000)
    send(page, "echo: Thanks! **That** helps.")
    expect(page.get_by_text("tokens ·").nth(1)).to_be_visible(timeout=15_000)
    # Plain text until the Markdown worker (nice 10) renders it: seconds on a loaded machine.
    expect(page.get_by_role("button", name="Copy code").first).to_be_attached(timeout=20_000)
    # The newest message stays in view: the message list followed the replies to the bottom
    # (on a wide screen only the list scrolls, issue 14).
    at_bottom = (
        "() => { const el = document.querySelector('.chat-messages');"
        " return el.scrollTop > 0 && el.scrollTop + el.clientHeight >= el.scrollHeight - 200; }"
    )
    page.wait_for_function(at_bottom, timeout=5_000)
    page.set_viewport_size({"width": 1280, "height": 1000})
    save_screenshot(page, "chat-light.png")
    page.get_by_role("button", name="Toggle dark mode").click()
    save_screenshot(page, "chat-dark.png")
