"""Branches in real Chromium (issue 14): Edit on an earlier message and Regenerate on an older
answer act on the message they sit on, keep the old branch behind a ‹ n/m › switch, and the
switch survives a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer
from tests.e2e.test_accessibility_browser import open_new_chat
from tests.e2e.test_chat_browser import send

pytestmark = pytest.mark.browser


def wait_answered(page: Page, text: str) -> None:
    """The echo of `text` is on the page and the composer takes messages again."""
    expect(page.get_by_text(text, exact=True).last).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=30_000)


def test_edit_an_earlier_message_branches_and_the_switch_survives_a_reload(
    app_server: AppServer, page: Page
) -> None:
    open_new_chat(page, app_server)
    send(page, "echo: first question")
    wait_answered(page, "first question")
    send(page, "echo: second question")
    wait_answered(page, "second question")

    # Edit on the FIRST message (once, it replaced the last one): a new branch from there.
    page.get_by_role("button", name="Edit message").first.click()
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_value("echo: first question")
    box.fill("echo: first, reworded")
    box.press("Enter")
    wait_answered(page, "first, reworded")
    expect(page.get_by_text("second question", exact=True)).to_have_count(0)  # other branch
    position = page.get_by_label("Version 2 of 2")
    expect(position).to_be_visible(timeout=20_000)

    page.reload()
    expect(page.get_by_label("Version 2 of 2")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Previous version").first.click()
    expect(page.get_by_label("Version 1 of 2")).to_be_visible(timeout=20_000)
    # The old branch is whole: its second exchange came back with it.
    expect(page.get_by_text("second question", exact=True).first).to_be_visible(timeout=20_000)
    expect(page.get_by_text("first, reworded", exact=True)).to_have_count(0)
