"""Scale-out: app processes sharing the database and Redis, behind a real nginx.

Selected with `-m scaleout` (they also run with the rest of the browser suite)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import build_engine
from models import Assistant, ConversationMessage, MessageStatus, Reservation, SpendEntry
from tests.e2e.conftest import AppServer, sign_up, spawn_app, stop_processes
from tests.e2e.scaleout import REDIS_URL, Cluster, forget_redis_keys, require_redis, shared_env

pytestmark = [pytest.mark.browser, pytest.mark.scaleout]

ANSWER = ".chat-answer"
LONG_REPLY = "[[sim:tokens=300]] [[sim:tokens_per_s=25]]"  # 12 s


@pytest.fixture(autouse=True)
def patient_expectations() -> Iterator[None]:
    """Several app processes share the machine here: allow 20 s per expectation (sign-up's
    included), then Playwright's default again for the rest of the suite."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def add_assistant(engine: Engine) -> int:
    """An assistant for the first user, written straight into the shared database."""
    with Session(engine) as session:
        assistant = Assistant(owner_id=1, name="Otter helper", model="gpt-4.1-mini")
        session.add(assistant)
        session.commit()
        return assistant.id


def start_long_reply(page: Page, url: str, engine: Engine) -> None:
    page.goto(f"{url}/chat/new?assistant={add_assistant(engine)}")
    expect(page.get_by_text("Say hello to Otter helper")).to_be_visible(timeout=20_000)
    box = page.get_by_role("textbox", name="Message")
    box.fill(LONG_REPLY)
    box.press("Enter")


def replies(engine: Engine) -> list[ConversationMessage]:
    with Session(engine) as session:
        return list(
            session.exec(select(ConversationMessage).where(ConversationMessage.role == "assistant"))
        )


def wait_for(check: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_session_started_on_one_container_works_on_another(
    start_app: Callable[..., AppServer], page: Page, tmp_path: Path
) -> None:
    require_redis()
    prefix = f"studio-test-{uuid.uuid4().hex[:8]}:"
    shared = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "NICEGUI_REDIS_URL": REDIS_URL,
        "NICEGUI_REDIS_KEY_PREFIX": prefix,
    }
    first = start_app(**shared)
    second = start_app(**shared)
    try:
        sign_up(page, first.url, "alice")

        # Same browser (cookies are per host, not per port), another process.
        page.goto(f"{second.url}/")
        expect(page.get_by_text("Welcome, alice")).to_be_visible()

        page.get_by_role("button", name="User menu").click()
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{second.url}/login")
        page.goto(f"{first.url}/")
        expect(page).to_have_url(f"{first.url}/login")  # the logout reached both
    finally:
        forget_redis_keys(prefix)


def submit_sign_in(page: Page, url: str, username: str, password: str) -> None:
    """The sign-in form at `url`, filled in and sent."""
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_behind_nginx_a_dead_instances_reply_is_closed_by_the_survivor(
    page: Page, tmp_path: Path, mariadb_url: str
) -> None:
    require_redis()
    env = shared_env(mariadb_url, INSTANCE_HEARTBEAT_TIMEOUT_SECONDS="3", LOGIN_ATTEMPTS="4")
    cluster = Cluster(tmp_path, env)
    engine = build_engine(mariadb_url)
    try:
        cluster.start(instances=2)

        # The sign-in limiter counts across instances: wrong passwords in the sign-in form,
        # 2 on each instance, lock the 5th try on either (LOGIN_ATTEMPTS=4; each saw only 2).
        for attempt in range(4):
            submit_sign_in(page, cluster.apps[attempt % 2].url, "mallory", "wrong-password")
            expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        for app in cluster.apps:
            submit_sign_in(page, app.url, "mallory", "wrong-password")
            expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()
        # And through nginx, whichever instance answers.
        submit_sign_in(page, cluster.url, "mallory", "wrong-password")
        expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()

        sign_up(page, cluster.url, "alice")
        start_long_reply(page, cluster.url, engine)
        expect(page.locator(ANSWER).last).not_to_be_empty(timeout=15_000)
        # Once a checkpoint holds text, kill the instance writing the reply (SIGKILL: no
        # chance to save anything more).
        streaming = wait_for(
            lambda: next((m for m in replies(engine) if m.content), None), 15, "a checkpoint"
        )
        assert streaming.status == MessageStatus.streaming
        writer = cluster.instance_of(streaming.instance_id)
        cluster.kill(writer)
        killed_at = time.monotonic()

        # The page reconnects through nginx, lands on the survivor and reloads there; the
        # survivor's sweep closes the reply within the heartbeat timeout (+ one beat).
        expect(page.get_by_text("This reply was interrupted")).to_be_visible(timeout=25_000)
        expect(page.get_by_role("button", name="Retry")).to_be_visible(timeout=10_000)
        assert time.monotonic() - killed_at < 20
        survivor = cluster.apps[1 - writer]
        me = page.request.get(f"{cluster.url}/health").json()["instance"]
        assert me == httpx.get(f"{survivor.url}/health").json()["instance"]

        [closed] = replies(engine)
        assert closed.status == MessageStatus.failed
        assert closed.content and len(closed.content.split()) < 300  # the partial text
        expect(page.locator(ANSWER).last).to_contain_text(closed.content.split()[-1])
        with Session(engine) as session:
            hold = session.exec(select(Reservation).where(Reservation.message_id == closed.id))
            assert hold.one().settled_at is not None  # released, not left holding budget
        assert not [m for m in replies(engine) if m.status == MessageStatus.streaming]
    finally:
        cluster.stop()
        engine.dispose()
        forget_redis_keys(env["NICEGUI_REDIS_KEY_PREFIX"])


def test_sigterm_saves_the_live_reply_and_exits_within_the_grace_period(
    page: Page, tmp_path: Path
) -> None:
    process, app = spawn_app(tmp_path, SHUTDOWN_GRACE_SECONDS="4")
    engine = build_engine(f"sqlite:///{app.data_dir / 'studio.db'}")
    try:
        sign_up(page, app.url, "alice")
        start_long_reply(page, app.url, engine)
        answer = page.locator(ANSWER).last
        wait_for(lambda: len(answer.inner_text()) > 40, 15, "streamed text")
        shown = answer.inner_text()
        os.kill(process.pid, signal.SIGTERM)  # what Cloud Run sends
        sent_at = time.monotonic()
        process.wait(timeout=10)
        assert time.monotonic() - sent_at < 4 + 1, "did not exit within SHUTDOWN_GRACE_SECONDS"

        [saved] = replies(engine)
        assert saved.status == MessageStatus.failed
        assert "interrupted" in saved.error
        # Everything that had streamed is kept, not just the last checkpoint.
        assert (
            len(saved.content) >= len(shown.strip())
            and saved.content.split()[:5] == (shown.split()[:5])
        )
        with Session(engine) as session:
            hold = session.exec(select(Reservation).where(Reservation.message_id == saved.id))
            assert hold.one().settled_at is not None
            billed = session.exec(select(SpendEntry).where(SpendEntry.message_id == saved.id))
            assert sum(e.cost_micros for e in billed.all()) > 0  # what it produced is billed
        log = app.log_path.read_text()
        assert "saving 1 live reply" in log
    finally:
        stop_processes([process])
        engine.dispose()
