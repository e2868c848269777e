"""Attacks over NiceGUI's socket protocol: a revoked session, a poisoned reset link.

The client speaks NiceGUI's socket.io protocol like a browser (bench/chat_load.py's Browser)
but never follows the server's "go to /login": after a password change or "log out
everywhere" it keeps clicking Send and Regenerate. Nothing may reach the model or be saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlmodel import func, select

from bench.chat_load import Browser
from core import db
from core.db import session_scope
from models import ConversationMessage
from services.accounts import profile
from services.accounts.users import create_user, revoke_sessions
from services.assistants.manage import AssistantInput, create_assistant
from services.chat.conversations import create_conversation
from simulator.server import SimulatorServer
from tests.e2e.conftest import AppServer
from tests.simulator_fixtures import TEST_API_KEY

pytestmark = pytest.mark.socket


def _message_count() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(ConversationMessage)).one()


def _model_calls(sim: SimulatorServer) -> int:
    return sum(1 for entry in list(sim.requests) if entry["path"] == "/v1/responses")


async def _until(check: Callable[[], bool], seconds: float = 15) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _regenerate_button(browser: Browser) -> str:
    def is_regenerate(element: dict) -> bool:
        props = element.get("props") or {}
        return element.get("tag") == "q-btn" and props.get("aria-label") == "Regenerate"

    return browser.page.find(is_regenerate)


@pytest.mark.parametrize("revoke", ["password_change", "log_out_everywhere"])
async def test_open_page_refuses_every_send_after_revocation(
    revoke: str, start_app: Callable[..., AppServer], sim: SimulatorServer
) -> None:
    db.migrate()
    alice = create_user("alice", "password123")
    assistant = create_assistant(alice, AssistantInput(name="Helper"))
    conversation_id = create_conversation(alice, assistant.id).id
    server = start_app(
        DATABASE_URL=db.get_engine().url.render_as_string(hide_password=False),
        OPENAI_API_KEY=TEST_API_KEY,
        OPENAI_BASE_URL=sim.base_url,
    )
    browser = Browser(server.url)
    try:
        await browser.sign_in("alice")
        await browser.open(f"/chat/{conversation_id}")
        await browser.type_into("Message", "first question")
        await browser.click("Send")
        await _until(lambda: _model_calls(sim) == 1 and _message_count() == 2)
        await asyncio.sleep(1)  # the reply is saved
        await browser.open(f"/chat/{conversation_id}")  # now with a Regenerate button
        regenerate = _regenerate_button(browser)
        saved = _message_count()

        if revoke == "password_change":
            await asyncio.to_thread(
                profile.change_password, alice, "password123", "password456", "password456"
            )
        else:
            await asyncio.to_thread(revoke_sessions, alice.id)

        # The page stays open and ignores the navigation; it keeps sending for a while.
        for attempt in range(3):
            await browser.type_into("Message", f"after revocation {attempt}")
            await browser.click("Send")
            await browser.event(regenerate, "click", {})
            await asyncio.sleep(0.7)
        assert _model_calls(sim) == 1, "a send or regenerate reached the model"
        assert _message_count() == saved, "something was saved after revocation"
    finally:
        await browser.close()


async def test_reset_link_never_uses_the_request_host(start_app: Callable[..., AppServer]) -> None:
    db.migrate()
    create_user("alice", "password123")
    server = start_app(DATABASE_URL=db.get_engine().url.render_as_string(hide_password=False))
    browser = Browser(server.url)
    browser.http.headers["Host"] = "evil.example"  # what a poisoning request sends
    try:
        await browser.open("/forgot-password")
        await browser.type_into("Username or email", "alice")
        await browser.click("Send reset link")
        await _until(lambda: "reset-password?token=" in server.log_path.read_text())
    finally:
        await browser.close()
    log = server.log_path.read_text()
    assert "evil.example" not in log
    assert ": /reset-password?token=" in log
