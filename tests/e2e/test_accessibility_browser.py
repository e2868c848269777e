"""Accessibility in real Chromium: axe-core on every page (light and dark), visible focus,
focus placement, keyboard shortcuts, dialogs that trap and return focus, and the phone layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.axe import axe_violations, require_axe
from tests.e2e.conftest import AppServer, save_screenshot, sign_up
from tests.e2e.test_chat_browser import add_assistant, send

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Long enough (2 min) that a loaded machine still stops it mid-stream after an axe run.
SLOW_REPLY = "[[sim:tokens=2400]] [[sim:tokens_per_s=20]]"
FOCUSED_RING = """() => {
  const el = document.activeElement;
  const ring = el.closest('.q-field') ? el.closest('.q-field__control') : el;
  const style = getComputedStyle(ring);
  return {visible: el.matches(':focus-visible'), outline: style.outlineStyle,
          width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
}"""


def set_dark(page: Page, dark: bool) -> None:
    """Signed in: the header's toggle (stored in the profile); signed out: the system theme."""
    body = page.locator("body")
    if page.get_by_role("button", name="Toggle dark mode").count():
        if ("body--dark" in (body.get_attribute("class") or "")) != dark:
            page.get_by_role("button", name="Toggle dark mode").click()
    else:
        page.emulate_media(color_scheme="dark" if dark else "light")
    expect(body).to_have_class(re.compile(r"body--dark" if dark else r"body--light"))


def assert_clean(page: Page, what: str) -> None:
    expect(page.locator("h1").first).to_be_attached(timeout=20_000)  # the page is drawn
    found = axe_violations(page)
    assert not found, f"axe-core on {what}:\n" + "\n".join(found)


def open_new_chat(page: Page, app_server: AppServer) -> int:
    """Alice signed up, with an assistant; a new chat open. Returns the assistant id."""
    sign_up(page, app_server.url, "alice")
    assistant_id = add_assistant(app_server.data_dir)
    page.goto(f"{app_server.url}/chat/new?assistant={assistant_id}")
    expect(page.get_by_text("Say hello to Otter helper")).to_be_visible(timeout=20_000)
    return assistant_id


def test_axe_reports_nothing_serious_on_any_page_light_and_dark(
    app_server: AppServer, page: Page
) -> None:
    require_axe()
    url = app_server.url
    for dark in (False, True):
        for path in ("/login", "/register", "/forgot-password", "/reset-password?token=x"):
            page.goto(url + path)
            set_dark(page, dark)
            assert_clean(page, f"{path} dark={dark}")
    page.emulate_media(color_scheme="light")
    assistant_id = open_new_chat(page, app_server)
    chat_url = page.url
    send(page, "Show me some code and a table please")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=20_000)
    for dark in (False, True):
        page.goto(url + "/")
        set_dark(page, dark)
        pages = ("/", "/assistants", f"/assistants/{assistant_id}", "/assistants/new")
        for path in (*pages, "/profile", "/admin", "/chat", chat_url.removeprefix(url)):
            page.goto(url + path)
            expect(page.locator("h1").first).to_be_visible(timeout=20_000)
            assert_clean(page, f"{path} dark={dark}")
        page.goto(f"{url}/assistants/{assistant_id}")
        page.get_by_role("switch", name="File search").click()  # shows the knowledge uploader
        expect(page.locator(".q-uploader")).to_be_visible(timeout=20_000)
        assert_clean(page, f"assistant form with knowledge files dark={dark}")
        page.get_by_role("switch", name="File search").click()  # unchanged again: no prompt
        page.goto(f"{url}/chat/new?assistant={assistant_id}")
        expect(page.get_by_text("Say hello to Otter helper")).to_be_visible(timeout=20_000)
        assert_clean(page, f"empty chat dark={dark}")
        send(page, SLOW_REPLY)
        expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=20_000)
        assert_clean(page, f"streaming chat dark={dark}")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("status").filter(has_text="Reply stopped.")).to_be_attached(
            timeout=20_000
        )


def test_every_page_has_one_h1_and_a_lang(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "en-US")
    expect(page.locator("h1")).to_have_text("Welcome back")
    open_new_chat(page, app_server)
    expect(page.locator("h1")).to_have_count(1)
    for path, title in (
        ("/", "Welcome, alice"),
        ("/profile", "Profile"),
        ("/admin", "Administration"),
    ):
        page.goto(app_server.url + path)
        expect(page.locator("h1")).to_have_text(title, timeout=20_000)


def test_focus_ring_is_visible_on_buttons_links_and_fields(
    app_server: AppServer, page: Page
) -> None:
    page.goto(f"{app_server.url}/login")
    for dark in (False, True):
        set_dark(page, dark)
        page.get_by_label("Username").focus()
        ring = page.evaluate(FOCUSED_RING)
        assert ring["shadow"] != "none", ring  # the field's ring
        for _ in range(8):  # Tab to the Sign in button, then to the links
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.includes('Sign in')"):
                break
        for _ in range(2):
            ring = page.evaluate(FOCUSED_RING)
            assert ring["visible"] and ring["outline"] == "solid" and ring["width"] >= 2, ring
            page.keyboard.press("Tab")
    page.emulate_media(color_scheme="light")
    open_new_chat(page, app_server)
    for dark in (False, True):
        set_dark(page, dark)
        send(page, SLOW_REPLY)
        targets = ("New chat", "Stop", "Toggle dark mode")
        for name in targets:
            page.keyboard.press("Shift")  # a keyboard user: focus() counts as :focus-visible
            page.get_by_role("button", name=name, exact=True).focus()
            ring = page.evaluate(FOCUSED_RING)
            assert ring["visible"] and ring["outline"] == "solid" and ring["width"] >= 2, (
                name,
                ring,
            )
        page.get_by_role("button", name="Stop").click()
        send_button = page.get_by_role("button", name="Send")
        expect(send_button).to_be_enabled(timeout=20_000)
        page.keyboard.press("Shift")
        send_button.focus()
        ring = page.evaluate(FOCUSED_RING)
        assert ring["visible"] and ring["outline"] == "solid", ring
        page.get_by_role("link", name="Dashboard").focus()
        assert page.evaluate(FOCUSED_RING)["outline"] == "solid"


def test_focus_goes_to_the_composer_and_back_after_stop(app_server: AppServer, page: Page) -> None:
    open_new_chat(page, app_server)
    composer = page.get_by_role("textbox", name="Message")
    expect(composer).to_be_focused(timeout=20_000)  # a new chat: type at once
    send(page, SLOW_REPLY)
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=20_000)
    stop.click()
    expect(stop).to_be_hidden(timeout=20_000)
    expect(composer).to_be_focused(timeout=20_000)


def test_keyboard_shortcuts(app_server: AppServer, page: Page) -> None:
    open_new_chat(page, app_server)
    composer = page.get_by_role("textbox", name="Message")
    send(page, "echo: first question")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=20_000)

    # Esc stops a streaming reply.
    send(page, SLOW_REPLY)
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=20_000)
    page.keyboard.press("Escape")
    expect(stop).to_be_hidden(timeout=20_000)
    expect(page.get_by_text("Stopped", exact=False).first).to_be_visible(timeout=20_000)

    # Up in the empty composer edits the last message.
    composer.focus()
    expect(composer).to_have_value("")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_text("Editing a message")).to_be_visible(timeout=20_000)
    expect(composer).to_have_value(SLOW_REPLY)
    page.get_by_role("button", name="Cancel edit").click()
    composer.fill("")

    # Ctrl+K focuses the conversation search, from the chat page and from another page.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Control+k")
    search = page.get_by_role("textbox", name="Search conversations")
    expect(search).to_be_focused()
    page.goto(f"{app_server.url}/profile")
    expect(page.locator("h1")).to_have_text("Profile", timeout=20_000)
    page.keyboard.press("Control+k")
    expect(search).to_be_focused(timeout=20_000)

    # Ctrl+Shift+O starts a new chat, from anywhere.
    page.goto(f"{app_server.url}/assistants")
    expect(page.locator("h1")).to_have_text("Assistants", timeout=20_000)
    before = page.url
    page.keyboard.press("Control+Shift+O")
    expect(page.get_by_text("Say hello to Otter helper")).to_be_visible(timeout=20_000)
    assert page.url != before and re.search(r"/chat/\d+$", page.url)

    # ? lists the shortcuts (not while typing); Esc closes it and focus goes back.
    composer.focus()
    page.keyboard.type("?")
    expect(page.get_by_role("dialog")).to_have_count(0)
    composer.fill("")
    theme = page.get_by_role("button", name="Toggle dark mode")
    theme.focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Keyboard shortcuts")).to_be_visible()
    for keys in ("Ctrl/⌘ + K", "Ctrl + Shift + O", "Esc", "?"):
        expect(dialog.get_by_text(keys, exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(theme).to_be_focused()


def test_dialogs_trap_focus_and_give_it_back(app_server: AppServer, page: Page) -> None:
    open_new_chat(page, app_server)
    send(page, "echo: hello")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=20_000)
    page.reload()
    # The list item is titled "echo: hello" until the title call names it "Hello".
    delete = page.get_by_role("button", name=re.compile(r"^Delete .*hello", re.I))
    expect(delete).to_be_visible(timeout=20_000)
    page.keyboard.press("Shift")
    delete.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog").filter(has_text="This cannot be undone")
    expect(dialog).to_be_visible(timeout=20_000)
    expect(dialog).to_contain_text("hello", ignore_case=True)
    inside = "() => !!document.activeElement.closest('.q-dialog')"
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab left the dialog"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(delete).to_be_focused()


def test_phone_layout_drawer_and_no_sideways_overflow(
    app_server: AppServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    url = app_server.url
    overflow = "() => document.documentElement.scrollWidth - window.innerWidth"

    def check(path: str, shot: str) -> None:
        assert page.evaluate(overflow) <= 0, f"{path} overflows sideways at 390 px"
        # A conversation as the phone shows it: a full-page shot would draw the sticky
        # composer (or the fixed header) in mid-page.
        save_screenshot(page, f"phone-{shot}.png", full_page=not path.startswith("/chat/"))

    for path, shot in (
        ("/login", "login"),
        ("/register", "register"),
        ("/forgot-password", "forgot-password"),
    ):
        page.goto(url + path)
        expect(page.locator("h1")).to_be_visible(timeout=20_000)
        check(path, shot)
    assistant_id = open_new_chat(page, app_server)
    send(page, "Show me some code and a table please")
    expect(page.get_by_text("tokens ·")).to_be_visible(timeout=20_000)
    chat_path = page.url.removeprefix(url)
    for path, shot in (
        ("/", "dashboard"),
        ("/assistants", "assistants"),
        (f"/assistants/{assistant_id}", "assistant-form"),
        ("/profile", "profile"),
        ("/admin", "admin"),
        ("/chat", "chat-home"),
        (chat_path, "chat"),
    ):
        page.goto(url + path)
        expect(page.locator("h1").first).to_be_attached(timeout=20_000)
        check(path, shot)

    # The chat: the list is a drawer, the conversation fills the screen, composer at the bottom.
    search = page.get_by_role("textbox", name="Search conversations")
    expect(search).to_be_hidden()
    composer = page.get_by_role("textbox", name="Message")
    box = composer.bounding_box()
    assert box is not None and box["y"] + box["height"] > PHONE["height"] - 160, box
    assert box["width"] > PHONE["width"] * 0.4, box
    composer_row = page.locator(".chat-composer").bounding_box()
    assert composer_row is not None and composer_row["width"] > PHONE["width"] * 0.85
    opener = page.get_by_role("button", name="Conversations")
    opener.click()
    drawer = page.get_by_role("dialog")
    expect(drawer.get_by_role("textbox", name="Search conversations")).to_be_visible()
    expect(drawer.get_by_role("link", name=re.compile("Show me some code"))).to_be_visible()
    save_screenshot(page, "phone-chat-drawer.png", full_page=False)
    page.keyboard.press("Escape")
    expect(drawer).to_have_count(0)
    expect(opener).to_be_focused()
    expect(search).to_be_hidden()
    context.close()
