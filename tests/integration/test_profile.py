"""Profile changes and account deletion, on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import AuthError, PermissionDenied, ValidationError
from models import Assistant, Conversation, ConversationMessage, StoredFile, User
from services.accounts import admin, profile
from services.accounts import users as accounts
from services.chat.conversations import list_conversations
from simulator.server import SimulatorServer
from tests.factories import add_assistant, add_conversation, add_reply, at, make_user


@pytest.fixture
def pair(database: str) -> tuple[User, User]:
    return make_user("alice"), make_user("bob")


def count(model: type) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_change_username_is_unique_case_insensitive(pair) -> None:
    alice, _ = pair
    with pytest.raises(ValidationError, match="taken"):
        profile.change_username(alice, "BOB")
    assert profile.change_username(alice, "Alice2").username == "alice2"
    assert accounts.authenticate("alice2", "password123").id == alice.id


def test_change_email_validates(pair) -> None:
    alice, _ = pair
    with pytest.raises(ValidationError):
        profile.change_email(alice, "not-an-email")
    assert profile.change_email(alice, " a@example.com ").email == "a@example.com"
    assert profile.change_email(alice, "").email is None


def test_change_password_needs_current_and_ends_other_sessions(pair) -> None:
    alice, _ = pair
    other_tab = accounts.session_token(alice)
    with pytest.raises(ValidationError, match="current password"):
        profile.change_password(alice, "wrong-password", "new-password-1", "new-password-1")
    with pytest.raises(ValidationError, match="do not match"):
        profile.change_password(alice, "password123", "new-password-1", "other")
    fresh = profile.change_password(alice, "password123", "new-password-1", "new-password-1")
    assert accounts.user_for_token(other_tab) is None
    assert accounts.user_for_token(fresh).id == alice.id
    assert accounts.authenticate("alice", "new-password-1").id == alice.id


def test_a_page_holding_an_older_session_is_refused_by_every_service(pair) -> None:
    alice, _ = pair
    other_page = alice.model_copy()  # another tab, opened with the same token
    profile.change_password(alice, "password123", "new-password-1", "new-password-1")
    profile.change_email(alice, "alice@example.com")  # the page that changed it keeps going
    with pytest.raises(AuthError, match="session has ended"):
        profile.change_email(other_page, "mallory@example.com")
    with pytest.raises(AuthError, match="session has ended"):
        list_conversations(other_page)
    accounts.revoke_sessions(alice.id)  # "log out everywhere"
    with pytest.raises(AuthError):
        list_conversations(alice)
    with session_scope() as session:
        assert session.get(User, alice.id).email == "alice@example.com"


def test_theme(pair) -> None:
    alice, _ = pair
    accounts.set_theme(alice.id, "dark")
    with session_scope() as session:
        assert session.get(User, alice.id).theme == "dark"


def test_delete_needs_the_password_and_keeps_the_last_admin(pair) -> None:
    alice, bob = pair
    with pytest.raises(ValidationError, match="password is not correct"):
        profile.delete_account(bob, "bob")  # typing the username is not enough any more
    with pytest.raises(PermissionDenied, match="last administrator"):
        profile.delete_account(alice, "password123")
    admin.set_role(alice, bob.id, "admin")
    profile.delete_account(alice, "password123")
    assert count(User) == 1


async def test_delete_stops_the_replies_still_running(pair) -> None:
    import asyncio

    from services.chat import generation

    _, bob = pair
    stopped = asyncio.Event()

    async def endless(_: generation.Generation) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stopped.set()
            raise

    running = generation.start(generation.Generation(10**9, 1, bob.id), endless)
    others = generation.start(generation.Generation(10**9 + 1, 2, bob.id + 1), endless)
    await asyncio.to_thread(profile.delete_account, bob, "password123")
    await asyncio.wait_for(stopped.wait(), 5)
    assert running.task.cancelled() or running.task.done()
    assert not others.task.done()  # another user's reply goes on
    others.task.cancel()


def test_delete_removes_everything_of_the_user_only(pair, isolated_settings) -> None:
    alice, bob = pair
    shared = add_assistant(bob, "Bob's shared", shared=True)
    bobs_own = add_assistant(bob, "Bob's private")
    alices = add_assistant(alice, "Alice's")
    bob_chat = add_conversation(bob, bobs_own)
    add_reply(bob_chat, at(2026, 3, 1), 10)
    add_reply(add_conversation(alice, shared), at(2026, 3, 1), 10)  # alice uses bob's assistant
    add_reply(add_conversation(alice, alices), at(2026, 3, 1), 10)
    stored = isolated_settings / "files" / "ab" / ("ab" * 16)
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"data")
    with session_scope() as session:
        session.add(
            StoredFile(
                id="ab" * 16,
                owner_id=bob.id,
                name="notes.txt",
                purpose="attachment",
                storage_path=f"files/ab/{'ab' * 16}",
                conversation_id=bob_chat,
            )
        )
    old_token = accounts.session_token(bob)
    profile.delete_account(bob, "password123")
    assert not stored.exists()
    assert accounts.user_for_token(old_token) is None
    with session_scope() as session:
        assert [a.name for a in session.exec(select(Assistant))] == ["Alice's"]
        conversations = session.exec(select(Conversation)).all()
        assert {c.owner_id for c in conversations} == {alice.id}
        assert sorted(c.assistant_id or 0 for c in conversations) == [0, alices.id]
    assert count(ConversationMessage) == 4 and count(StoredFile) == 0


def test_delete_also_deletes_provider_files(pair, llm_env: SimulatorServer) -> None:
    import openai

    from tests.simulator_fixtures import TEST_API_KEY

    sim = llm_env
    _, bob = pair
    client = openai.OpenAI(api_key=TEST_API_KEY, base_url=sim.base_url)
    uploaded = client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    store = client.vector_stores.create(name="bob")
    add_assistant(bob, "With knowledge", vector_store_id=store.id)
    with session_scope() as session:
        session.add(
            StoredFile(
                owner_id=bob.id, name="a.txt", purpose="knowledge", provider_file_id=uploaded.id
            )
        )
    profile.delete_account(bob, "password123")
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)
