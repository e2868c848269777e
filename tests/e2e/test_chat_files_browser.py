"""Files in chat in real headless Chromium: drop a document, pick an image, send, see the
thumbnail, the cited answer and the generated chart, browse the gallery with the keyboard."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlmodel import Session

from core.db import build_engine
from models import Assistant
from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser

DROP_JS = """(target, [name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type: 'text/markdown'}));
  for (const type of ['dragover', 'drop']) {
    const options = {dataTransfer: data, bubbles: true, cancelable: true};
    target.dispatchEvent(new DragEvent(type, options));
  }
}"""


def add_assistant(data_dir: Path) -> int:
    engine = build_engine(f"sqlite:///{data_dir / 'studio.db'}")
    with Session(engine) as session:
        assistant = Assistant(
            owner_id=1, name="Chart helper", model="gpt-4.1-mini", tools=["code_interpreter"]
        )
        session.add(assistant)
        session.commit()
        assistant_id = assistant.id
    engine.dispose()
    return assistant_id


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "otter.png"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 110, 190)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


LOADED_JS = """(selector) => {
  const img = document.querySelector(selector);
  return img !== null && img.complete && img.naturalWidth > 0;
}"""


def expect_loaded(page: Page, selector: str) -> None:
    """The (first) image arrives through the authenticated /files route and decodes: visible is
    not enough, an `<img>` has its CSS size before its bytes come (and a chip redraw makes a new
    one). A refused or broken URL never decodes, so this times out."""
    page.wait_for_function(LOADED_JS, arg=selector, timeout=15_000)


def test_drop_pick_send_cite_and_browse_the_gallery(
    app_server: AppServer, page: Page, tmp_path: Path
) -> None:
    sign_up(page, app_server.url, "alice")
    page.goto(f"{app_server.url}/chat/new?assistant={add_assistant(app_server.data_dir)}")
    hello = page.get_by_text("Say hello to Chart helper")
    expect(hello).to_be_visible()

    hello.evaluate(DROP_JS, ["otter-notes.md", "# Otters\nOtters hold hands while sleeping.\n"])
    page.locator('input[aria-label="Images to attach"]').set_input_files(photo(tmp_path))
    notes_chip = page.locator("[data-attach-key]", has_text="otter-notes.md")
    photo_chip = page.locator("[data-attach-key]", has_text="otter.png")
    expect(notes_chip).to_contain_text("ready", timeout=15_000)
    expect(photo_chip).to_contain_text("ready", timeout=15_000)
    expect(page.get_by_alt_text("Preview of otter.png")).to_be_visible()
    expect_loaded(page, 'img[alt="Preview of otter.png"]')
    expect(page.get_by_role("button", name="Send")).to_be_enabled()

    box = page.get_by_role("textbox", name="Message")
    box.fill("What do my notes say about otters?")
    box.press("Enter")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-attach-key]")).to_have_count(0)  # the composer is empty again
    expect(page.get_by_alt_text("otter.png", exact=True)).to_be_visible()  # the sent thumbnail
    answer = page.locator(".chat-answer").last
    # Drawn as plain text first when the Markdown worker misses the page's 1.5 s warm-up
    # budget, then formatted: on a loaded machine that took over 6 s here.
    expect(answer.locator(".citation-ref").first).to_be_visible(timeout=20_000)
    expect(answer.locator(".citation-sources")).to_contain_text("otter-notes.md")
    chart = answer.locator("img.generated-image")
    expect(chart).to_be_visible()
    expect_loaded(page, "img.generated-image")
    save_screenshot(page, "chat-attachments.png")

    page.get_by_role("button", name="Gallery").click()
    tiles = page.get_by_role("button", name="Open ")
    expect(tiles).to_have_count(2)
    tiles.first.click()
    caption = page.get_by_text(" of 2")
    expect(caption).to_contain_text("1 of 2")
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(caption).to_contain_text("2 of 2")
    page.keyboard.press("ArrowRight")
    expect(caption).to_contain_text("1 of 2")
    page.keyboard.press("ArrowLeft")
    expect(caption).to_contain_text("2 of 2")
    expect_loaded(page, "img.lightbox-image")
    page.keyboard.press("Escape")
    expect(page.locator("img.lightbox-image")).to_have_count(0)
