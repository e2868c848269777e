"""Weight of an open chat page: elements, bytes of the first response, server memory per tab.

Opens, as signed-in browsers over the real protocol (bench/chat_load.py's `Browser`), an empty
conversation and one with `--messages` finished messages, and prints for each: elements the
server holds for the page, bytes of the page's HTML, and the server's RSS growth per open tab
(`--tabs` tabs of that page, connected). Figures a busy machine does not distort.
`--conversations N` gives the user N more (one-message) conversations, so the sidebar lists
N more rows: the difference in elements over N is the cost of one row.

Run: `uv run python -m bench.chat_page_weight` (add `--messages 80 --tabs 40 --conversations 10`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from bench.chat_load import ROOT, Browser, _free_port, _wait_http


def _prepare(messages: int, conversations: int) -> tuple[int, int]:
    """One user, an assistant, an empty conversation, one with `messages` messages and
    `conversations` more with one message each."""
    from core import db
    from core.db import session_scope
    from models import ConversationMessage, MessageRole, MessageStatus
    from services.accounts.users import create_user
    from services.assistants.manage import AssistantInput, create_assistant
    from services.chat.conversations import create_conversation

    db.migrate()
    user = create_user("reader", "password123")
    assistant = create_assistant(user, AssistantInput(name="Bench"))
    empty = create_conversation(user, assistant.id).id
    long = create_conversation(user, assistant.id).id
    paragraph = "A sentence of an answer with **bold** and `code`, long enough to wrap. " * 4
    with session_scope() as session:
        for index in range(messages):
            user_turn = index % 2 == 0
            session.add(
                ConversationMessage(
                    conversation_id=long,
                    role=MessageRole.user if user_turn else MessageRole.assistant,
                    content=f"question {index}" if user_turn else f"{paragraph}\n\n- a\n- b",
                    status=MessageStatus.complete,
                    model=None if user_turn else "gpt-4o-mini",
                    output_tokens=0 if user_turn else 60,
                )
            )
    for index in range(conversations):
        extra = create_conversation(user, assistant.id).id
        with session_scope() as session:
            session.add(
                ConversationMessage(
                    conversation_id=extra, role=MessageRole.user, content=f"extra {index}"
                )
            )
    return empty, long


async def _weigh(probe: Browser, path: str, tabs: int, process: psutil.Process) -> str:
    """Open `path` once to count it, then in `tabs` more tabs of the same signed-in session."""
    base = probe.base
    response = await probe.http.get(path)
    await probe.open(path)
    elements = len(probe.page.elements)
    browsers = [Browser(base) for _ in range(tabs)]
    for browser in browsers:
        browser.http.cookies = probe.http.cookies
    await asyncio.sleep(2)
    before = process.memory_info().rss
    for browser in browsers:
        await browser.open(path)
    await asyncio.sleep(3)
    per_tab = (process.memory_info().rss - before) / tabs
    for browser in browsers:
        await browser.close()
    return (
        f"{elements} elements, page HTML {len(response.content) / 1024:.0f} KiB, "
        f"server RSS per open tab {per_tab / 1024:.0f} KiB"
    )


async def run(tabs: int, messages: int, conversations: int = 0) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="chat-weight-"))
    os.environ.update(
        DATA_DIR=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'studio.db'}",
        BCRYPT_ROUNDS="4",
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    )
    empty, long = _prepare(messages, conversations)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.chat_server"],
        cwd=ROOT,
        env={
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "OPENAI_API_KEY": "sk-bench",
            "LOOP_LAG_FILE": str(workdir / "loop_lag"),
            "LOG_LEVEL": "WARNING",
        },
        stdout=(workdir / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/health", server, 180)
        process = psutil.Process(server.pid)
        probe = Browser(base)
        await probe.sign_in("reader")
        await _weigh(probe, f"/chat/{empty}", 2, process)  # first-use imports, caches
        print(f"empty chat page: {await _weigh(probe, f'/chat/{empty}', tabs, process)}")
        print(f"{messages} messages: {await _weigh(probe, f'/chat/{long}', tabs, process)}")
        await probe.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=40)
    parser.add_argument("--messages", type=int, default=80)
    parser.add_argument("--conversations", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(run(args.tabs, args.messages, args.conversations))


if __name__ == "__main__":
    main()
