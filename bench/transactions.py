"""Count database transactions per chat send and per chat-page open (issue 10 item 4).

How it counts: a SQLAlchemy `begin` listener on the app's engine counts every transaction
a session or connection starts (each `session_scope()` is one). A send is measured from
`chat.send` until its reply is saved (the background task included); a page open is the
page's data loading, exactly what `/chat/{id}` calls before drawing. It runs on a temporary
SQLite database against the simulator over real HTTP.

    .venv/bin/python bench/transactions.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tx-bench-"))
    os.environ.update(
        DATA_DIR=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        BCRYPT_ROUNDS="4",
    )
    from simulator.server import start_simulator

    server = start_simulator()
    os.environ.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=server.base_url)
    import sqlalchemy as sa

    from core import db
    from services.accounts.users import create_user
    from services.assistants.manage import AssistantInput, create_assistant
    from services.chat import conversations, generation
    from services.chat import turn as chat

    db.migrate()
    counter = {"begin": 0}
    sa.event.listen(
        db.get_engine(), "begin", lambda _conn: counter.__setitem__("begin", counter["begin"] + 1)
    )
    user = create_user("bench", "password123")
    assistant = create_assistant(user, AssistantInput(name="Bench", model="gpt-4.1-mini"))
    conversation = conversations.create_conversation(user, assistant.id)

    async def one_send() -> int:
        before = counter["begin"]
        turn = await chat.send(user, conversation.id, "Hello there")
        await generation.wait(turn.assistant_message_id)
        await asyncio.sleep(0)
        return counter["begin"] - before

    sends = [asyncio.run(one_send()) for _ in range(3)]
    from services.chat.chat_page import load_chat_page

    before = counter["begin"]
    load_chat_page(user, conversation.id)
    page = counter["begin"] - before
    print(f"transactions per send (3 sends): {sends}")
    print(f"transactions per chat-page open: {page}")
    server.stop()


if __name__ == "__main__":
    main()
