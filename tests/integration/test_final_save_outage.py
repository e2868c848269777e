"""Issue 13 item 7: the database goes down as a reply ends, then comes back.

A real MariaDB behind a TCP proxy this test controls (stopping the shared server would break
other suites): `stop()` drops every connection and refuses new ones, like a stopped server.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from core import db
from core.config import get_settings
from core.db import session_scope
from core.errors import Unavailable
from models import ConversationMessage, MessageStatus, SpendEntry
from services.accounts.users import create_user
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from simulator.server import SimulatorServer
from tests.integration.db_proxy import DatabaseProxy

pytestmark = pytest.mark.mariadb


@pytest.fixture
def proxy(mariadb_url: str, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch):
    db.migrate(mariadb_url)
    url = make_url(mariadb_url)
    proxy = DatabaseProxy(url.host or "127.0.0.1", url.port or 3306)
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", through)
    monkeypatch.setattr(chat, "FINAL_SAVE_FIRST_PAUSE", 0.2)
    get_settings.cache_clear()
    db.reset_engine()
    yield proxy
    proxy.close()


async def test_final_save_waits_for_the_database_and_bills_the_reply(
    proxy: DatabaseProxy, sim: SimulatorServer
) -> None:
    user = create_user("alice", "password123")
    assistant = create_assistant(user, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    chat_id = conversations.create_conversation(user, assistant.id).id
    sim.configure(delay_ms=800)
    turn = await chat.send(user, chat_id, "Hello in a few words")
    running = generation.get(turn.assistant_message_id)
    proxy.stop()  # the database goes down while the reply streams
    for _ in range(100):  # the stream ends; the save fails and waits
        if running.activity == chat.SAVE_WAIT_ACTIVITY:
            break
        await asyncio.sleep(0.05)
    assert running.activity == chat.SAVE_WAIT_ACTIVITY  # what the page shows meanwhile
    assert not running.finished and running.text  # the text is kept in memory
    with pytest.raises(Unavailable):  # a send now gets the friendly error, nothing hangs
        await chat.send(user, chat_id, "Another one")
    await asyncio.sleep(1.0)
    proxy.start()  # the database is back
    await asyncio.wait_for(generation.wait(turn.assistant_message_id), 30)
    with session_scope() as session:
        reply = session.get(ConversationMessage, turn.assistant_message_id)
        billed = session.exec(select(SpendEntry)).all()
    assert reply.status == MessageStatus.complete and reply.content == running.text
    assert reply.cost_micros and [r.cost_micros for r in billed] == [reply.cost_micros]
    # The composer can send again at once.
    again = await chat.send(user, chat_id, "Back again")
    await generation.wait(again.assistant_message_id)
