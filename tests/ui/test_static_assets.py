"""The static JavaScript and CSS are served to anyone, and pages link the files they use."""

from __future__ import annotations

from nicegui.testing import User

from components.assets import static_url
from tests.ui.helpers import signed_up


async def test_static_files_are_public(user: User) -> None:
    await user.open("/login")  # starts the app
    script = await user.http_client.get(static_url("chat_attach.js"))
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "window.chatAttach" in script.text
    style = await user.http_client.get("/static/chat.css")
    assert style.status_code == 200 and ".chat-md" in style.text
    missing = await user.http_client.get("/static/nothing-here.js")
    assert missing.status_code == 404


async def test_the_chat_page_loads_its_files_once(user: User) -> None:
    await signed_up(user, "alice")
    await user.open("/chat")
    await user.should_see("Create an assistant to start chatting.")
    head = user.client._head_html
    for name in ("chat.css", "copy_code.js", "chat_scroll.js"):
        assert head.count(static_url(name)) == 1, name


async def test_the_first_response_carries_the_scripts_and_the_content(user: User) -> None:
    # Scripts added after the first response are inserted as HTML and never run, so the page
    # must be complete (content and <script> tags) when it is sent.
    await signed_up(user, "alice")
    response = await user.http_client.get("/chat")
    assert response.status_code == 200
    for name in ("chat.css", "copy_code.js", "chat_scroll.js"):
        assert static_url(name) in response.text, name
    assert "Create an assistant to start chatting." in response.text
