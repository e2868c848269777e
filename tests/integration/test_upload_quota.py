"""The per-user upload quota (unsent attachments + knowledge files), on SQLite and MariaDB.

Through the real services: composer attachments (`attachments.add`, the simulator as
provider for documents) and knowledge files (`knowledge.add_file`). A refused file leaves no
row and no bytes; sending or removing files frees the quota; other users do not count.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import func, select

from core.config import get_settings
from core.db import session_scope
from core.errors import ValidationError
from models import FileStatus, StoredFile, User
from services.accounts import users as accounts
from services.assistants import knowledge
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from services.files import attachments, uploads
from services.files import store as file_store
from simulator.server import SimulatorServer

KB = 1024


@pytest.fixture
def provider(
    database: str, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> SimulatorServer:
    monkeypatch.setenv("USER_UPLOAD_QUOTA_FILES", "3")
    monkeypatch.setenv("USER_UPLOAD_QUOTA_MB", "1")
    get_settings.cache_clear()
    return llm_env


@pytest.fixture
def alice(provider: SimulatorServer) -> User:
    return accounts.create_user("alice", "password123")


def text_file(size: int) -> bytes:
    return (b"notes about otters\n" * (size // 19 + 1))[:size]


def file_rows(user: User) -> int:
    with session_scope() as session:
        return session.exec(
            select(func.count()).select_from(StoredFile).where(StoredFile.owner_id == user.id)
        ).one()


def usage(user: User) -> file_store.UploadUsage:
    with session_scope() as session:
        return file_store.upload_usage(session, user.id)


async def test_the_file_count_quota_covers_attachments_and_knowledge(alice: User) -> None:
    assistant = create_assistant(alice, AssistantInput(name="Docs", tools=["file_search"]))
    chat_id = conversations.create_conversation(alice, assistant.id).id
    first = await attachments.add(alice, chat_id, "a.csv", b"name,size\notter,1\n")
    second = await attachments.add(alice, chat_id, "b.md", text_file(10 * KB))
    await knowledge.add_file(alice, assistant.id, "policy.md", text_file(20 * KB))
    assert usage(alice) == file_store.UploadUsage(files=3, bytes=30 * KB + 18)
    rows = file_rows(alice)
    with pytest.raises(ValidationError) as refused:
        await attachments.add(alice, chat_id, "c.md", text_file(KB))
    assert "use 30.0 KB in 3 files, of 1 MB and 3 files allowed" in str(refused.value)
    with pytest.raises(ValidationError, match="Upload quota reached"):
        await knowledge.add_file(alice, assistant.id, "more.md", text_file(KB))
    assert file_rows(alice) == rows  # nothing kept of the refused files

    bob = accounts.create_user("bob", "password123")  # another user's quota is his own
    bob_chat = conversations.create_conversation(
        bob, create_assistant(bob, AssistantInput(name="Bob's")).id
    )
    await attachments.add(bob, bob_chat.id, "bob.csv", b"a,b\n1,2\n")

    await attachments.remove(alice, first.id)  # removing frees a place
    added = await attachments.add(alice, chat_id, "c.md", text_file(KB))
    for item in (second, added):
        await attachments.wait_until_ready(alice, item.id)
    pending = [item.id for item in attachments.pending(alice, chat_id)]
    turn = await chat.send(alice, chat_id, "Read these", attachments=pending)
    await generation.wait(turn.assistant_message_id)
    assert usage(alice) == file_store.UploadUsage(files=1, bytes=20 * KB)  # sent ones are free


async def test_the_byte_quota_refuses_the_file_that_does_not_fit(alice: User) -> None:
    assistant = create_assistant(alice, AssistantInput(name="Docs"))
    chat_id = conversations.create_conversation(alice, assistant.id).id
    await attachments.add(alice, chat_id, "big.csv", b"x,y\n" + text_file(700 * KB))
    with pytest.raises(ValidationError) as refused:
        await attachments.add(alice, chat_id, "second.csv", b"x,y\n" + text_file(400 * KB))
    assert "use 700.0 KB in 1 files, of 1 MB and 3 files allowed" in str(refused.value)
    assert "this file needs 400.0 KB more" in str(refused.value)
    await attachments.add(alice, chat_id, "small.csv", b"x,y\n" + text_file(200 * KB))


async def test_failed_files_do_not_count(alice: User) -> None:
    assistant = create_assistant(alice, AssistantInput(name="Docs"))
    chat_id = conversations.create_conversation(alice, assistant.id).id
    row = file_store.store_attachment(alice, text_file(900 * KB), "lost.md", chat_id)
    with session_scope() as session:
        stored = session.get(StoredFile, row.id)
        stored.status = FileStatus.failed
        session.add(stored)
    assert usage(alice) == file_store.UploadUsage(files=0, bytes=0)
    file_store.store_attachment(alice, text_file(900 * KB), "again.md", chat_id)


@pytest.mark.mariadb
def test_concurrent_uploads_cannot_both_take_the_last_place(
    alice: User, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database != "mariadb":
        pytest.skip("row locks: SQLite has one writer at a time anyway")
    monkeypatch.setenv("USER_UPLOAD_QUOTA_FILES", "1")
    get_settings.cache_clear()
    chat_id = conversations.create_conversation(
        alice, create_assistant(alice, AssistantInput(name="Docs")).id
    ).id
    start = threading.Barrier(4)
    check_quota = uploads.check_quota

    def slow_check(*args: object) -> None:  # widen the window between counting and inserting
        check_quota(*args)
        time.sleep(0.3)

    monkeypatch.setattr(uploads, "check_quota", slow_check)

    def upload(n: int) -> str:
        start.wait()
        try:
            file_store.store_attachment(alice, text_file(KB), f"race{n}.md", chat_id)
        except ValidationError:
            return "refused"
        return "kept"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(upload, range(4)))
    assert outcomes == ["kept", "refused", "refused", "refused"]
    assert usage(alice).files == 1
