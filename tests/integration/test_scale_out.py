"""Scale-out state on the real stores: the Redis turn lock and sign-in limiter, instance
heartbeats and the survivors' sweep (SQLite and MariaDB), and the SIGTERM drain."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import AuthError, NotFound, RateLimited, Unavailable, ValidationError
from models import (
    Conversation,
    ConversationMessage,
    Instance,
    MessageRole,
    MessageStatus,
    Reservation,
    SpendEntry,
    SpendKind,
    User,
    utcnow,
)
from services.accounts import users as accounts
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation, interruptions, progress, turn_lock
from services.chat import turn as chat
from services.runtime import liveness, shared
from services.runtime.attempts import SharedAttemptLimiter
from simulator.server import SimulatorServer
from tests.factories import PASSWORD, make_user

REDIS_URL = "redis://127.0.0.1:6379/13"  # this suite's own db number (the e2e test uses 15)


@pytest.fixture
def shared_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """A real Redis as the shared store, under a prefix of this test's own (cleaned after)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it"
        if os.environ.get("REQUIRE_MARIADB") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"studio-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("NICEGUI_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("NICEGUI_REDIS_KEY_PREFIX", prefix)
    get_settings.cache_clear()
    accounts.reset_login_limiter()
    shared.reset()
    yield client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    shared.reset()
    client.close()


@pytest.fixture
def owner(database: str, llm_env: SimulatorServer) -> User:
    return make_user("alice")


@pytest.fixture
def conversation(owner: User) -> Conversation:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    return conversations.create_conversation(owner, assistant.id)


def streaming_row(conversation_id: int, instance_id: str | None, text: str) -> int:
    with session_scope() as session:
        row = ConversationMessage(
            conversation_id=conversation_id,
            role=MessageRole.assistant,
            content=text,
            status=MessageStatus.streaming,
            instance_id=instance_id,
        )
        session.add(row)
        session.flush()
        session.add(
            Reservation(
                user_id=1,
                kind=SpendKind.reply,
                amount_micros=5000,
                message_id=row.id,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        return row.id


def beat_as(instance_id: str, seconds_ago: float) -> None:
    at = utcnow() - timedelta(seconds=seconds_ago)
    with session_scope() as session:
        session.add(Instance(id=instance_id, started_at=at, beat_at=at))


def row(message_id: int) -> ConversationMessage:
    with session_scope() as session:
        return session.get(ConversationMessage, message_id)


# ---------------------------------------------------------------- liveness and the sweep


async def test_the_sweep_closes_only_replies_of_silent_instances(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_HEARTBEAT_TIMEOUT_SECONDS", "10")
    get_settings.cache_clear()
    liveness.beat()  # this instance, alive
    beat_as("alive-elsewhere", seconds_ago=2)
    beat_as("dead", seconds_ago=30)
    mine = streaming_row(conversation.id, liveness.INSTANCE_ID, "mine so far")
    theirs = streaming_row(conversation.id, "alive-elsewhere", "theirs so far")
    dead = streaming_row(conversation.id, "dead", "half an ans")
    legacy = streaming_row(conversation.id, None, "from before 0013")
    never_beat = streaming_row(conversation.id, "vanished", "no row at all")

    assert interruptions.close_interrupted_replies() == 3

    for kept in (mine, theirs):
        assert row(kept).status == MessageStatus.streaming
    for closed in (dead, legacy, never_beat):
        message = row(closed)
        assert message.status == MessageStatus.failed
        assert message.error == interruptions.INTERRUPTED_ERROR
        assert "interrupted" in message.error
    assert row(dead).content == "half an ans"  # the last checkpoint's text is kept
    with session_scope() as session:
        open_holds = session.exec(
            select(Reservation.message_id).where(Reservation.settled_at.is_(None))
        ).all()
        instances = set(session.exec(select(Instance.id)).all())
    assert sorted(open_holds) == sorted([mine, theirs])  # the closed ones were released
    assert instances == {liveness.INSTANCE_ID, "alive-elsewhere"}  # the dead one is gone
    assert interruptions.close_interrupted_replies() == 0  # idempotent


async def test_an_instance_that_stops_beating_is_swept_after_the_timeout(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_HEARTBEAT_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    beat_as("other", seconds_ago=0)
    message_id = streaming_row(conversation.id, "other", "so far")
    assert interruptions.close_interrupted_replies() == 0  # it beat just now
    await asyncio.sleep(1.3)
    assert interruptions.close_interrupted_replies() == 1
    assert row(message_id).status == MessageStatus.failed


async def test_a_beat_recreates_the_row_a_survivor_removed(database: str) -> None:
    liveness.beat()
    with session_scope() as session:
        session.delete(session.get(Instance, liveness.INSTANCE_ID))
    liveness.beat()
    with session_scope() as session:
        assert session.get(Instance, liveness.INSTANCE_ID) is not None
    liveness.forget()
    with session_scope() as session:
        assert session.get(Instance, liveness.INSTANCE_ID) is None


async def test_a_new_reply_names_its_instance_and_blocks_a_second_send_elsewhere(
    owner: User, conversation: Conversation
) -> None:
    turn = await chat.send(owner, conversation.id, "[[sim:tokens=200]] [[sim:tokens_per_s=100]]")
    assert row(turn.assistant_message_id).instance_id == liveness.INSTANCE_ID
    await generation.wait(turn.assistant_message_id)
    # A reply streaming on another instance is invisible to this one's registry: its row
    # is what refuses a second turn here.
    beat_as("other", seconds_ago=0)
    streaming_row(conversation.id, "other", "")
    with pytest.raises(ValidationError, match="Wait for the current reply"):
        await chat.send(owner, conversation.id, "again")


async def test_drain_saves_live_replies_as_interrupted_and_settles_them(
    owner: User, conversation: Conversation
) -> None:
    turn = await chat.send(owner, conversation.id, "[[sim:tokens=400]] [[sim:tokens_per_s=40]]")
    running = generation.get(turn.assistant_message_id)
    for _ in range(200):
        if len(running.text) > 20:
            break
        await asyncio.sleep(0.02)
    try:
        assert await interruptions.drain(5) == 0
        with pytest.raises(Unavailable, match="restarting"):
            await chat.send(owner, conversation.id, "one more")
    finally:
        liveness.start_accepting()
    saved = row(turn.assistant_message_id)
    assert saved.status == MessageStatus.failed
    assert saved.error == interruptions.INTERRUPTED_ERROR
    assert len(saved.content) > 20
    with session_scope() as session:
        hold = session.exec(
            select(Reservation).where(Reservation.message_id == turn.assistant_message_id)
        ).one()
        billed = session.exec(
            select(SpendEntry).where(SpendEntry.message_id == turn.assistant_message_id)
        ).all()
    assert hold.settled_at is not None
    assert billed and sum(e.cost_micros for e in billed) > 0  # what it produced is billed


# ---------------------------------------------------------------- the shared store


async def test_the_redis_turn_lock_serializes_two_instances(shared_redis: redis.Redis) -> None:
    order: list[str] = []

    async def hold(name: str) -> None:
        # `_shared_lock` alone is what two processes share (each has its own local lock).
        async with turn_lock._shared_lock(42):
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    await asyncio.gather(hold("a"), hold("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert not list(shared_redis.scan_iter(f"{get_settings().nicegui_redis_key_prefix}*turn*"))


async def test_a_lock_held_elsewhere_is_not_released_by_another_holder(
    shared_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turn_lock, "LOCK_TTL_SECONDS", 0.3)
    name = shared.key("turn", 7)
    shared_redis.set(name, "someone-else", px=60_000)
    with pytest.raises(ValidationError, match="still being started"):
        async with turn_lock.one_turn_at_a_time(7):
            pass
    assert shared_redis.get(name) == b"someone-else"


def test_the_sign_in_limiter_counts_across_instances(
    database: str, shared_redis: redis.Redis
) -> None:
    make_user("carol")
    first = accounts.SignInLimits(3, 20, 100, 60)
    second = accounts.SignInLimits(3, 20, 100, 60)  # another process's limiter objects
    first.fail("carol", "10.0.0.1")
    second.fail("carol", "10.0.0.1")
    assert first.retry_after("carol", "10.0.0.1") == 0
    first.fail("carol", "10.0.0.1")
    assert 59 < second.retry_after("carol", "10.0.0.1") <= 60
    assert second.retry_after("carol", "10.0.0.2") == 0  # another address is not locked
    # Through the real sign-in: locked after LOGIN_ATTEMPTS failures, whichever instance.
    for _ in range(get_settings().login_attempts):
        with pytest.raises(AuthError):
            accounts.authenticate("carol", "wrong", "10.0.0.9")
        accounts.reset_login_limiter()  # the next attempt is "another instance"
    with pytest.raises(RateLimited):
        accounts.authenticate("carol", PASSWORD, "10.0.0.9")


def test_the_sign_in_limiter_window_expires_in_redis(shared_redis: redis.Redis) -> None:
    limiter = SharedAttemptLimiter("pair", 1, 0.2)
    limiter.fail("k")
    assert limiter.blocked("k")
    limiter.clear("k")
    assert not limiter.blocked("k")
    limiter.fail("k")
    assert limiter.blocked("k")
    time.sleep(0.3)
    assert not limiter.blocked("k")


async def test_a_reply_is_followed_live_through_redis_until_it_is_saved(
    owner: User, conversation: Conversation, shared_redis: redis.Redis
) -> None:
    publisher = asyncio.get_running_loop().create_task(progress.publish_loop())
    try:
        turn = await chat.send(owner, conversation.id, "[[sim:tokens=60]] [[sim:tokens_per_s=40]]")
        seen = [text async for text in progress.follow(owner, turn.assistant_message_id)]
    finally:
        publisher.cancel()
    saved = row(turn.assistant_message_id)
    assert saved.status == MessageStatus.complete
    assert len(seen) >= 3  # live: several growing snapshots, not just the end
    assert all(b.startswith(a) for a, b in zip(seen, seen[1:], strict=False))
    assert saved.content.startswith(seen[-1]) and len(seen[-1]) > len(seen[0])
    with pytest.raises(NotFound):  # another user cannot follow it
        async for _ in progress.follow(make_user("mallory"), turn.assistant_message_id):
            pass


async def test_without_redis_a_follower_sees_checkpoints_and_the_sweep(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_HEARTBEAT_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    monkeypatch.setattr(progress, "ROW_CHECK_SECONDS", 0.2)
    beat_as("dying", seconds_ago=0)
    message_id = streaming_row(conversation.id, "dying", "partial")
    owner = conversations_owner(conversation)

    async def sweep_later() -> None:
        await asyncio.sleep(1.2)
        await asyncio.to_thread(interruptions.close_interrupted_replies)

    sweeper = asyncio.get_running_loop().create_task(sweep_later())
    seen = [text async for text in progress.follow(owner, message_id)]
    await sweeper
    assert seen[0] == "partial"
    assert row(message_id).status == MessageStatus.failed


def conversations_owner(conversation: Conversation) -> User:
    with session_scope() as session:
        return session.get(User, conversation.owner_id)
