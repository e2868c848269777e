"""One transaction per use case (issue 10 item 4), counted on SQLite and MariaDB.

A SQLAlchemy `begin` listener on the app's engine counts every transaction started. A send
is one transaction to start the turn (access, limits, budget reservation, cap, both rows)
plus one to save and settle the reply; opening a chat page is one read.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import db
from services.accounts.users import create_user
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from services.chat.chat_page import load_chat_page
from simulator.server import SimulatorServer


@pytest.fixture
def counted(database: str, llm_env: SimulatorServer) -> dict:
    counter = {"begin": 0}

    def count(_conn: object) -> None:
        counter["begin"] += 1

    sa.event.listen(db.get_engine(), "begin", count)
    return counter


async def test_a_send_is_one_transaction_plus_the_final_save(counted: dict) -> None:
    user = create_user("alice", "password123")
    assistant = create_assistant(user, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    chat_id = conversations.create_conversation(user, assistant.id).id
    # The assistant's first use in a minute is also recorded, in a short one after the send's.
    for text, last_use in (("first", 1), ("second", 0)):
        before = counted["begin"]
        turn = await chat.send(user, chat_id, text)
        assert counted["begin"] - before == 1 + last_use  # checks, reservation, rows together
        await generation.wait(turn.assistant_message_id)
        assert counted["begin"] - before == 2 + last_use  # the final save settles in one
    before = counted["begin"]
    await generation.wait((await chat.regenerate(user, chat_id)).assistant_message_id)
    assert counted["begin"] - before == 2
    before = counted["begin"]
    page = load_chat_page(user, chat_id)
    assert counted["begin"] - before == 1
    assert len(page.view.messages) == 4 and page.preview is not None
    assert page.assistants == [(assistant.id, "Helper")] and len(page.conversations.items) == 1
