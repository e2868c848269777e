"""Share links and the prompt library in real headless Chromium against the real app."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from core.db import build_engine
from models import Assistant
from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser

LONG = 30_000


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Generous waits on a loaded, shared machine (back to Playwright's 5 s afterwards)."""
    expect.set_options(timeout=LONG)
    yield
    expect.set_options(timeout=5_000)


def add_assistant(data_dir: Path, shared: bool = True) -> int:
    """A (shared) assistant of the first user, written straight into the app's database."""
    engine = build_engine(f"sqlite:///{data_dir / 'studio.db'}")
    with Session(engine) as session:
        assistant = Assistant(owner_id=1, name="Trip helper", model="gpt-4.1-mini", shared=shared)
        session.add(assistant)
        session.commit()
        assistant_id = assistant.id
    engine.dispose()
    return assistant_id


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "harbour.png"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (20, 140, 120)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def create_link(page: Page, public: bool = False) -> str:
    page.get_by_role("button", name="Share", exact=True).click()
    if public:
        page.get_by_role("radio", name="Public: anyone with the link").click()
    else:
        expect(page.get_by_text("Public: anyone with the link")).to_be_hidden()
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("Share link")
    expect(link).to_have_value(re.compile(r"/share/[A-Za-z0-9_-]{40,}$"), timeout=LONG)
    url = link.input_value()
    page.get_by_role("button", name="Close").click()
    return url


def set_public_links(page: Page, url: str, on: bool) -> None:
    page.goto(f"{url}/admin")
    switch = page.get_by_role("switch", name="Allow public links")
    expect(switch).to_be_visible(timeout=LONG)
    if (switch.get_attribute("aria-checked") == "true") != on:
        switch.click()
        expect(page.get_by_text("Share link setting saved")).to_be_visible(timeout=LONG)


def test_share_teammate_public_revoke_and_copy(
    app_server: AppServer, browser: Browser, page: Page, tmp_path: Path
) -> None:
    url = app_server.url
    sign_up(page, url, "alice")
    page.goto(f"{url}/chat/new?assistant={add_assistant(app_server.data_dir)}")
    expect(page.get_by_text("Say hello to Trip helper")).to_be_visible(timeout=LONG)
    page.locator('input[aria-label="Images to attach"]').set_input_files(photo(tmp_path))
    expect(page.locator("[data-attach-key]", has_text="harbour.png")).to_contain_text(
        "ready", timeout=LONG
    )
    box = page.get_by_role("textbox", name="Message")
    box.fill("Plan a day at this harbour")
    box.press("Enter")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=LONG)
    chat_url = page.url
    team_link = create_link(page)

    # Anonymous: asked to sign in (a teammates-only link).
    anonymous = browser.new_context()
    stranger = anonymous.new_page()
    stranger.goto(team_link)
    expect(stranger).to_have_url(re.compile(r"/login\?next=/share/"), timeout=LONG)

    # A signed-in teammate sees the snapshot and its image, through the share only.
    bob_context = browser.new_context(viewport={"width": 1280, "height": 800})
    bob = bob_context.new_page()
    sign_up(bob, url, "bob")
    bob.goto(team_link)
    expect(bob.get_by_text("Shared by alice")).to_be_visible(timeout=LONG)
    expect(bob.get_by_text("Plan a day at this harbour", exact=True).last).to_be_visible()
    thumbnail = bob.get_by_alt_text("harbour.png", exact=True)
    expect(thumbnail).to_be_visible()
    src = thumbnail.get_attribute("src") or ""
    assert src.startswith("/share/") and src.endswith("/thumbnail")
    bob.wait_for_function(
        "() => [...document.images].some(i => i.alt === 'harbour.png' && i.naturalWidth > 0)",
        timeout=LONG,
    )
    file_id = src.split("/files/")[1].split("/")[0]
    assert bob.request.get(f"{url}{src}").status == 200
    assert bob.request.get(f"{url}/files/{file_id}").status == 404  # not bob's file
    save_screenshot(bob, "share-view.png")

    # Continue as my own copy, with the shared assistant.
    bob.get_by_role("button", name="Continue as my own copy").click()
    bob.get_by_role("button", name="Make my copy").click()
    expect(bob).to_have_url(re.compile(r"/chat/\d+$"), timeout=LONG)
    expect(bob.get_by_text("Plan a day at this harbour", exact=True).last).to_be_visible(
        timeout=LONG
    )
    expect(bob.get_by_role("textbox", name="Message")).to_be_visible()

    # Public links: only once the admin allows them, and they stop when turned off.
    set_public_links(page, url, True)
    page.goto(chat_url)
    expect(page.get_by_role("button", name="Share", exact=True)).to_be_visible(timeout=LONG)
    public_link = create_link(page, public=True)
    stranger.goto(public_link)
    expect(stranger.get_by_text("Plan a day at this harbour", exact=True).last).to_be_visible(
        timeout=LONG
    )
    expect(stranger.get_by_text("Sign in to continue as your own copy")).to_be_visible()
    set_public_links(page, url, False)
    stranger.goto(public_link)
    expect(stranger).to_have_url(re.compile(r"/login\?next=/share/"), timeout=LONG)

    # Revoking from the profile stops the page and its files.
    page.goto(f"{url}/profile")
    revoke = page.get_by_role("button", name="Revoke link to Plan a day at this harbour")
    expect(revoke).to_have_count(2, timeout=LONG)
    revoke.last.click()  # the oldest: the teammates link
    expect(page.get_by_text("Link revoked")).to_be_visible(timeout=LONG)
    expect(revoke).to_have_count(1)
    bob.goto(team_link)
    expect(bob.get_by_text("Page not found")).to_be_visible(timeout=LONG)
    assert bob.request.get(f"{url}{src}").status == 404
    anonymous.close()
    bob_context.close()


def test_prompt_picker_inserts_a_prompt_and_asks_for_its_variables(
    app_server: AppServer, page: Page
) -> None:
    url = app_server.url
    sign_up(page, url, "alice")
    page.goto(f"{url}/prompts")
    page.get_by_role("button", name="New prompt").click()
    page.get_by_label("Title").fill("Translate")
    page.get_by_label("Prompt text").fill("Translate {{text}} into {{language}}.")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.get_by_text("Prompt saved")).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="New team prompt").click()  # alice is the admin
    page.get_by_label("Title").fill("Standup notes")
    page.get_by_label("Prompt text").fill("Write standup notes.")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.get_by_text("Standup notes", exact=True)).to_be_visible(timeout=LONG)

    page.goto(f"{url}/chat/new?assistant={add_assistant(app_server.data_dir)}")
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_be_visible(timeout=LONG)
    box.press_sequentially("/")
    picker = page.get_by_role("listbox", name="Prompts")
    expect(picker).to_be_visible(timeout=LONG)
    expect(picker.get_by_role("option")).to_have_count(2)
    box.press_sequentially("tra")
    expect(picker.get_by_role("option")).to_have_count(1, timeout=LONG)
    expect(picker.get_by_role("option").first).to_contain_text("asks for text, language")
    save_screenshot(page, "prompt-picker.png")
    box.press("Enter")
    dialog_field = page.get_by_label("text", exact=True)
    expect(dialog_field).to_be_visible(timeout=LONG)
    expect(dialog_field).to_be_focused()  # on opening: a late focus would steal the caret
    dialog_field.fill("good morning")
    page.get_by_label("language", exact=True).fill("Portuguese")
    page.get_by_label("language", exact=True).press("Enter")
    expect(box).to_have_value("Translate good morning into Portuguese.", timeout=LONG)
    expect(picker).to_be_hidden()
    # With the picker closed, Enter sends as usual.
    box.press("Enter")
    expect(page.locator(".chat-answer")).to_have_count(1, timeout=LONG)

    # Arrow keys pick the second prompt; Escape closes the list without inserting.
    box.press_sequentially("/")
    expect(picker.get_by_role("option")).to_have_count(2, timeout=LONG)
    box.press("ArrowDown")
    expect(picker.get_by_role("option").nth(1)).to_have_attribute(
        "aria-selected", "true", timeout=LONG
    )
    box.press("Escape")
    expect(picker).to_be_hidden(timeout=LONG)
    # That Escape was the list's: the reply still streaming meanwhile was not stopped.
    expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=LONG)
    expect(page.get_by_text("Stopped.", exact=True)).to_have_count(0)
    box.fill("/")  # "/" typed over the "/" left there: the text is unchanged, the list opens
    expect(picker).to_be_visible(timeout=LONG)
    box.press("ArrowDown")
    expect(picker.get_by_role("option").nth(1)).to_have_attribute(
        "aria-selected", "true", timeout=LONG
    )
    box.press("Enter")
    expect(box).to_have_value("Write standup notes.", timeout=LONG)


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt_conversations.json"


def test_import_a_chatgpt_export_and_refuse_a_broken_file(
    app_server: AppServer, page: Page, tmp_path: Path
) -> None:
    url = app_server.url
    sign_up(page, url, "alice")
    add_assistant(app_server.data_dir)
    page.goto(f"{url}/import")
    file_input = page.locator('input[type="file"]')
    broken = tmp_path / "conversations.json"
    broken.write_text('[{"title": "half", "mapping": {"n": {"message": "oops"}}}]')
    file_input.set_input_files(broken)
    expect(page.get_by_role("alert")).to_contain_text("Conversation 1 of the file is malformed")
    file_input.set_input_files(FIXTURE)
    status = page.get_by_role("status").filter(has_text="Imported")
    expect(status).to_contain_text("Imported 2 conversation(s) with 8 message(s)")
    expect(page.get_by_text("1 non-text part(s) (image_asset_pointer)", exact=True)).to_be_visible()
    expect(page.get_by_text("6 messages · 2 branches", exact=True)).to_be_visible()
    save_screenshot(page, "import-report.png")
    page.get_by_role("link", name="Lisbon weekend").click()
    expect(page.get_by_text("Try Taberna da Rua das Flores", exact=False)).to_be_visible()
    # Only the two good conversations exist: the broken file left nothing.
    page.goto(f"{url}/chat")
    expect(page.get_by_text("Lisbon weekend")).to_be_visible()
    expect(page.get_by_text("half", exact=True)).to_have_count(0)
