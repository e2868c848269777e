"""Build an assistant with File search, drop a knowledge file and watch it turn ready, in real
headless Chromium against the real app (demo mode: the app's own simulator). Also writes the
light and dark screenshots of the list and the form to docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser

DROP_FILE_JS = """() => {
  const data = new DataTransfer();
  data.items.add(new File(['# Travel policy\\nBook economy for flights under 6 hours.'],
                          'travel-policy.md', {type: 'text/markdown'}));
  return data;
}"""


def toggle_dark(page: Page, dark: bool) -> None:
    page.get_by_role("button", name="Toggle dark mode").click()
    body = page.locator("body")
    expect(body).to_have_class(re.compile(r"body--dark" if dark else r"body--light"))


def create(page: Page, url: str, name: str, description: str, file_search: bool = False) -> None:
    page.goto(f"{url}/assistants/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Instructions").fill(f"You are {name}. Answer briefly and cite sources.")
    if file_search:
        page.get_by_role("switch", name="File search").click()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/assistants/\d+$"))


def test_file_search_assistant_with_a_dropped_file(app_server: AppServer, page: Page) -> None:
    url = app_server.url
    sign_up(page, url, "alice")

    page.goto(f"{url}/assistants")
    expect(page.get_by_text("No assistants yet")).to_be_visible()

    # Validation comes back from the server, next to the field.
    page.goto(f"{url}/assistants/new")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Give the assistant a name.")).to_be_visible()

    create(page, url, "Travel desk", "Answers questions about the travel policy", file_search=True)
    expect(page.get_by_text("Knowledge files")).to_be_visible()
    data = page.evaluate_handle(DROP_FILE_JS)
    page.locator(".q-uploader").dispatch_event("dragover", {"dataTransfer": data})
    page.locator(".q-uploader__dnd").dispatch_event("drop", {"dataTransfer": data})
    expect(page.get_by_text("travel-policy.md").last).to_be_visible()
    expect(page.get_by_text("ready", exact=True)).to_be_visible(timeout=15_000)
    save_screenshot(page, "assistant-form-light.png")
    toggle_dark(page, dark=True)
    save_screenshot(page, "assistant-form-dark.png")

    # Unsaved changes: the browser asks before leaving through the navigation.
    page.get_by_label("Name").fill("Travel desk (draft)")
    dialogs: list[str] = []

    def stay(dialog) -> None:  # noqa: ANN001
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert re.search(r"/assistants/\d+$", page.url)
    page.remove_listener("dialog", stay)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    create(page, url, "Code reviewer", "Reviews pull requests for bugs and style")
    create(page, url, "Release notes", "Turns merged changes into friendly release notes")
    page.goto(f"{url}/assistants")
    card = page.locator(".q-card", has_text="Travel desk (draft)")
    expect(card.get_by_text("1 file")).to_be_visible()
    expect(page.get_by_text("Code reviewer", exact=True)).to_be_visible()
    save_screenshot(page, "assistants-list-dark.png")
    toggle_dark(page, dark=False)
    save_screenshot(page, "assistants-list-light.png")

    page.get_by_role("searchbox", name="Search").fill("release")
    expect(page.get_by_text("Code reviewer", exact=True)).to_be_hidden()
    expect(page.get_by_text("Release notes", exact=True)).to_be_visible()
