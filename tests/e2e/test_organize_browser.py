"""Organizing and searching conversations, and temporary chats, in real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from core.db import build_engine
from models import Assistant, Conversation, ConversationMessage, MessageRole
from tests.e2e.conftest import AppServer, save_screenshot, sign_up

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)  # the shared machine is slow; auto-waiting, never sleeping


def seed(data_dir: Path) -> tuple[int, dict[str, int]]:
    """An assistant and three conversations with messages for the first user."""
    engine = build_engine(f"sqlite:///{data_dir / 'studio.db'}")
    ids: dict[str, int] = {}
    with Session(engine) as session:
        assistant = Assistant(owner_id=1, name="Otter helper", model="gpt-4.1-mini")
        session.add(assistant)
        session.flush()
        chats = {
            "Trip to Lisbon": "Where should we eat pastéis de nata near the river?",
            "Quarterly taxes": "Which receipts do I keep for the accountant?",
            "Garden plans": "Tomatoes, basil and a small <b>pond</b> for the frogs.",
        }
        for title, text in chats.items():
            conversation = Conversation(owner_id=1, assistant_id=assistant.id, title=title)
            session.add(conversation)
            session.flush()
            session.add(
                ConversationMessage(
                    conversation_id=conversation.id, role=MessageRole.user, content=text
                )
            )
            ids[title] = conversation.id
        session.commit()
        assistant_id = assistant.id
    engine.dispose()
    return assistant_id, ids


def conversation_exists(data_dir: Path, conversation_id: int) -> bool:
    engine = build_engine(f"sqlite:///{data_dir / 'studio.db'}")
    with Session(engine) as session:
        found = session.exec(select(Conversation.id).where(Conversation.id == conversation_id))
        exists = found.first() is not None
    engine.dispose()
    return exists


def row(page: Page, conversation_id: int):  # noqa: ANN201
    return page.locator(f".nicegui-row[draggable=true]:has(a[href='/chat/{conversation_id}'])")


def test_folders_drag_and_drop_pins_archive_and_search(app_server: AppServer, page: Page) -> None:
    sign_up(page, app_server.url, "alice")
    _, ids = seed(app_server.data_dir)
    page.goto(f"{app_server.url}/chat")
    expect(page.get_by_text("Trip to Lisbon")).to_be_visible(timeout=60_000)

    # A folder, and a conversation dragged into it.
    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("Travel")
    page.get_by_label("Folder name").press("Enter")
    folder = page.get_by_role("button", name="Travel", exact=True)
    expect(folder).to_be_visible(timeout=60_000)
    row(page, ids["Trip to Lisbon"]).drag_to(folder)
    expect(page.get_by_text("Moved")).to_be_visible(timeout=60_000)
    folder.click()
    expect(row(page, ids["Trip to Lisbon"])).to_be_visible(timeout=60_000)
    expect(row(page, ids["Quarterly taxes"])).to_have_count(0)
    page.get_by_role("button", name="All chats").click()

    # Pin one: it heads the list under "Pinned".
    row(page, ids["Garden plans"]).get_by_role("button", name="More actions").click()
    page.locator(".q-menu").get_by_text("Pin", exact=True).click()
    expect(page.get_by_text("Pinned", exact=True).first).to_be_visible(timeout=60_000)
    first_link = page.locator(".nicegui-row[draggable=true] a").first
    expect(first_link).to_have_attribute("href", f"/chat/{ids['Garden plans']}")

    # Archive one: it leaves the list and is found in the archive.
    row(page, ids["Quarterly taxes"]).get_by_role("button", name="More actions").click()
    page.locator(".q-menu").get_by_text("Archive", exact=True).click()
    expect(row(page, ids["Quarterly taxes"])).to_have_count(0, timeout=60_000)
    page.get_by_role("button", name="Archived").click()
    expect(row(page, ids["Quarterly taxes"])).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="All chats").click()

    # Full-text search: a message word, highlighted, markup shown as text.
    page.get_by_label("Search conversations").fill("pond")
    snippet = page.locator(".chat-snippet mark")
    expect(snippet).to_have_text("pond", timeout=60_000)
    expect(page.locator(".chat-snippet").first).to_contain_text("<b>")
    page.get_by_label("Search conversations").fill('"(receipts*')  # archived: not by default
    expect(page.get_by_text("No conversation matches")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Search filters").click()
    page.get_by_role("combobox", name="Archived").click()
    page.get_by_role("option", name="Everything").click()
    expect(page.locator(".chat-snippet mark")).to_have_text("receipts", timeout=60_000)
    page.get_by_label("Search conversations").fill("nata")
    expect(page.locator(".chat-snippet mark")).to_have_text("nata", timeout=60_000)
    save_screenshot(page, "conversations-organize-search.png")


def test_multi_select_archives_several_at_once(app_server: AppServer, page: Page) -> None:
    sign_up(page, app_server.url, "alice")
    _, ids = seed(app_server.data_dir)
    page.goto(f"{app_server.url}/chat")
    expect(page.get_by_text("Garden plans")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Select").click()
    page.get_by_label("Select Trip to Lisbon").click()
    page.get_by_label("Select Garden plans").click()
    expect(page.get_by_text("2 selected")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Archive selected").click()
    expect(row(page, ids["Trip to Lisbon"])).to_have_count(0, timeout=60_000)
    expect(row(page, ids["Garden plans"])).to_have_count(0)
    expect(row(page, ids["Quarterly taxes"])).to_be_visible()


def test_a_temporary_chat_is_not_listed_and_is_gone_after_leaving(
    app_server: AppServer, page: Page
) -> None:
    sign_up(page, app_server.url, "alice")
    seed(app_server.data_dir)
    page.goto(f"{app_server.url}/chat")
    page.get_by_role("button", name="Temporary chat").click()
    expect(page.get_by_text("Temporary chat: not kept in your history")).to_be_visible(
        timeout=60_000
    )
    conversation_id = int(page.url.rstrip("/").split("/")[-1])
    box = page.get_by_role("textbox", name="Message")
    box.fill("echo: a secret thought")
    box.press("Enter")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=60_000)
    expect(row(page, conversation_id)).to_have_count(0)  # never in the list
    save_screenshot(page, "temporary-chat.png", full_page=False)
    page.get_by_role("button", name="New chat", exact=True).click()  # leaving closes it
    page.wait_for_url(lambda url: f"/chat/{conversation_id}" not in url, timeout=60_000)
    deadline_ok = False
    for _ in range(60):  # the old page's client is dropped after NiceGUI's reconnect timeout
        if not conversation_exists(app_server.data_dir, conversation_id):
            deadline_ok = True
            break
        page.wait_for_timeout(500)
    assert deadline_ok, "the temporary chat was not deleted after leaving its page"
    page.goto(f"{app_server.url}/chat/{conversation_id}")
    expect(page.get_by_text("Page not found")).to_be_visible(timeout=60_000)
