"""Password reset: mail over a real local SMTP server, single use, expiry, no enumeration."""

from __future__ import annotations

import logging
import re
import socket
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import RateLimited, ValidationError
from models import PasswordResetToken, User, utcnow
from services.accounts import password_reset
from services.accounts import users as accounts
from tests.factories import make_user


class Inbox:
    """An aiosmtpd handler that keeps every received message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, f"From: {mail['From']}\n{mail.get_content()}"))
        return "250 OK"


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    password_reset.reset_limits()
    yield
    password_reset.reset_limits()


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A local SMTP server on a free port; settings point at it (STARTTLS off for the test)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("SMTP_FROM", "studio@example.com")
    monkeypatch.setenv("PUBLIC_URL", "https://studio.example.com")
    get_settings.cache_clear()
    yield handler
    controller.stop()


@pytest.fixture
def alice(database: str) -> User:
    return make_user("alice", email="alice@example.com")


def token_from(text: str) -> str:
    match = re.search(r"/reset-password\?token=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def test_reset_by_mail_is_single_use_and_ends_sessions(alice: User, inbox: Inbox) -> None:
    old_session = accounts.session_token(alice)
    answer = password_reset.request_reset("alice@example.com", "10.0.0.1")
    assert answer == password_reset.REQUEST_ANSWER
    password_reset.wait_for_mail()
    assert len(inbox.messages) == 1
    recipients, body = inbox.messages[0]
    assert recipients == ["alice@example.com"]
    # Mailed links use PUBLIC_URL, never the request's (client-chosen) Host.
    assert "From: studio@example.com" in body
    assert "https://studio.example.com/reset-password?token=" in body
    token = token_from(body)
    with session_scope() as session:
        stored = session.exec(select(PasswordResetToken.token_hash)).all()
    assert stored and token not in stored  # only the hash is stored

    assert password_reset.token_is_valid(token)
    password_reset.reset_password(token, "new-password-1", "new-password-1")
    assert accounts.user_for_token(old_session) is None  # every session ended
    assert accounts.authenticate("alice", "new-password-1").id == alice.id
    assert not password_reset.token_is_valid(token)
    with pytest.raises(ValidationError, match="invalid, already used or expired"):
        password_reset.reset_password(token, "another-pass-2", "another-pass-2")


def test_a_reset_voids_other_open_links(alice: User) -> None:
    first, second = password_reset.create_token(alice.id), password_reset.create_token(alice.id)
    password_reset.reset_password(second, "new-password-1")
    assert not password_reset.token_is_valid(first)


def test_expired_link_is_refused(alice: User) -> None:
    token = password_reset.create_token(alice.id)
    with session_scope() as session:
        row = session.exec(select(PasswordResetToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert not password_reset.token_is_valid(token)
    with pytest.raises(ValidationError):
        password_reset.reset_password(token, "new-password-1")
    assert accounts.authenticate("alice", "password123").id == alice.id


def test_link_valid_for_one_hour(alice: User) -> None:
    password_reset.create_token(alice.id)
    with session_scope() as session:
        row = session.exec(select(PasswordResetToken)).one()
    assert timedelta(minutes=59) < row.expires_at - utcnow() <= timedelta(hours=1)


def test_bad_new_password_keeps_the_link(alice: User) -> None:
    token = password_reset.create_token(alice.id)
    with pytest.raises(ValidationError, match="at least"):
        password_reset.reset_password(token, "short")
    assert password_reset.token_is_valid(token)


def test_no_enumeration_same_answer_and_similar_timing(alice: User, inbox: Inbox) -> None:
    def timed(identifier: str) -> tuple[str, float]:
        start = time.perf_counter()
        answer = password_reset.request_reset(identifier, f"addr-{time.perf_counter()}")
        return answer, time.perf_counter() - start

    known, unknown = [], []
    for index in range(3):
        password_reset.reset_limits()
        answer_known, elapsed_known = timed("alice")
        answer_unknown, elapsed_unknown = timed(f"nobody{index}")
        assert answer_known == answer_unknown == password_reset.REQUEST_ANSWER
        known.append(elapsed_known)
        unknown.append(elapsed_unknown)
    password_reset.wait_for_mail()
    # Mail goes out in the background: SMTP latency does not show in the answer time.
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.05
    assert len(inbox.messages) == 3


def test_without_smtp_the_link_is_logged(alice: User, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="services.accounts.password_reset"):
        password_reset.request_reset("alice", "10.0.0.2")
        password_reset.wait_for_mail()
    records = [r for r in caplog.records if "reset-password?token=" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    # No PUBLIC_URL: the path alone, never a host taken from the request.
    assert ": /reset-password?token=" in records[0].getMessage()
    assert password_reset.token_is_valid(token_from(records[0].getMessage()))


def test_links_are_absolute_only_under_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert password_reset.reset_link("abc") == "/reset-password?token=abc"
    monkeypatch.setenv("PUBLIC_URL", "https://studio.example.com/")
    get_settings.cache_clear()
    assert password_reset.reset_link("abc") == "https://studio.example.com/reset-password?token=abc"


def test_rate_limited_per_address_and_silently_per_account(alice: User) -> None:
    for _ in range(password_reset.REQUESTS_PER_ADDRESS):
        password_reset.request_reset("nobody", "10.0.0.3")
    with pytest.raises(RateLimited):
        password_reset.request_reset("alice", "10.0.0.3")
    for index in range(password_reset.REQUESTS_PER_ACCOUNT + 2):
        password_reset.request_reset("alice", f"10.0.1.{index}")
    password_reset.wait_for_mail()
    with session_scope() as session:
        count = len(session.exec(select(PasswordResetToken)).all())
    assert count == password_reset.REQUESTS_PER_ACCOUNT


def test_disabled_account_gets_no_link(alice: User) -> None:
    with session_scope() as session:
        user = session.get(User, alice.id)
        token = password_reset.create_token(alice.id)
        user.is_active = False
        session.add(user)
    password_reset.request_reset("alice", "10.0.0.4")
    assert not password_reset.token_is_valid(token)
    with session_scope() as session:
        assert len(session.exec(select(PasswordResetToken)).all()) == 1


def test_mail_without_public_url_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError as SettingsError

    from core.config import Settings

    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        Settings(smtp_host="mail.example.com", public_url="")


def test_with_mail_configured_a_link_is_never_logged(
    database: str, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("noemail")
    caplog.set_level("INFO")
    password_reset.request_reset("noemail", "10.9.9.9")
    password_reset.wait_for_mail()
    assert "has no email" in caplog.text
    assert "token=" not in caplog.text and not inbox.messages
