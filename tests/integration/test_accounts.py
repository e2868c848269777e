"""Accounts and the data layer on SQLite and on the real MariaDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from core import db
from core.config import get_settings
from core.errors import AuthError, RateLimited, ValidationError
from models import Role
from services.accounts import users as accounts


def test_migrations_create_every_table(database: str) -> None:
    tables = set(sa.inspect(db.get_engine()).get_table_names())
    expected = {"user", "assistant", "conversation", "conversation_message", "stored_file"}
    assert expected <= tables
    assert "alembic_version" in tables


def test_long_text_columns_are_not_varchar(database: str) -> None:
    inspector = sa.inspect(db.get_engine())
    for table, column in [
        ("conversation_message", "content"),
        ("assistant", "instructions"),
        ("conversation", "summary"),
    ]:
        kind = {c["name"]: c["type"] for c in inspector.get_columns(table)}[column]
        assert "TEXT" in type(kind).__name__.upper(), (table, column, kind)


def test_stores_long_unicode_content(database: str) -> None:
    from models import Conversation, ConversationMessage, MessageRole

    user = accounts.create_user("writer", "password123")
    text = "émoji 🚀 " * 20_000  # ~200 KB: more than VARCHAR or TEXT would hold
    with db.session_scope() as session:
        conv = Conversation(owner_id=user.id)
        session.add(conv)
        session.flush()
        session.add(
            ConversationMessage(conversation_id=conv.id, role=MessageRole.user, content=text)
        )
    with db.session_scope() as session:
        stored = session.exec(sa.select(ConversationMessage.content)).scalar_one()
    assert stored == text


def test_first_user_is_admin_then_members(database: str) -> None:
    first = accounts.register("alice", "password123", "password123", "alice@example.com")
    second = accounts.register("Bob", "password123", "password123")
    assert first.role == Role.admin
    assert second.role == Role.member
    assert second.username == "bob"


def test_concurrent_first_signups_make_exactly_one_admin(database: str) -> None:
    names = [f"user{i}" for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        users = list(pool.map(lambda n: accounts.create_user(n, "password123"), names))
    assert sum(u.role == Role.admin for u in users) == 1


def test_username_is_case_insensitive_unique(database: str) -> None:
    accounts.register("carol", "password123")
    with pytest.raises(ValidationError, match="taken") as info:
        accounts.register("CAROL", "password123")
    assert info.value.field == "username"


@pytest.mark.parametrize(
    ("username", "password", "confirm", "email", "field"),
    [
        ("ab", "password123", None, None, "username"),
        ("has space", "password123", None, None, "username"),
        ("x" * 33, "password123", None, None, "username"),
        ("dave", "short", None, None, "password"),
        ("dave", "password123", "password124", None, "confirm"),
        ("dave", "password123", None, "not-an-email", "email"),
    ],
)
def test_validation_names_the_field(
    database: str, username: str, password: str, confirm: str | None, email: str | None, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        accounts.register(username, password, confirm, email)
    assert info.value.field == field


def test_authenticate_and_token_version(database: str) -> None:
    accounts.register("erin", "a much longer passphrase than seventy-two bytes, " * 2)
    user = accounts.authenticate("ERIN", "a much longer passphrase than seventy-two bytes, " * 2)
    token = accounts.session_token(user)
    assert accounts.user_for_token(token).id == user.id
    accounts.revoke_sessions(user.id)
    assert accounts.user_for_token(token) is None
    fresh = accounts.session_token(
        accounts.authenticate("erin", "a much longer passphrase than seventy-two bytes, " * 2)
    )
    assert accounts.user_for_token(fresh) is not None


def test_wrong_password_and_unknown_user_get_the_same_message(database: str) -> None:
    accounts.register("frank", "password123")
    with pytest.raises(AuthError) as wrong:
        accounts.authenticate("frank", "nope-nope-nope")
    with pytest.raises(AuthError) as unknown:
        accounts.authenticate("nobody", "nope-nope-nope")
    assert str(wrong.value) == str(unknown.value)


def test_failed_sign_ins_lock_the_username_at_that_address_only(database: str) -> None:
    accounts.register("grace", "password123")
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate("grace", "wrong-password", "10.0.0.1")
    with pytest.raises(RateLimited, match=r"Try again in 15 minutes \(at \d\d:\d\d UTC\)"):
        accounts.authenticate("grace", "password123", "10.0.0.1")
    # The owner elsewhere, and everyone else at that address, are not locked out.
    assert accounts.authenticate("grace", "password123", "10.0.0.2").username == "grace"
    accounts.register("henry", "password123")
    assert accounts.authenticate("henry", "password123", "10.0.0.1").username == "henry"


def test_guesses_for_random_usernames_do_not_lock_out_a_shared_address(database: str) -> None:
    accounts.register("grace", "password123")
    for index in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate(f"random{index}", "wrong-password", "10.0.0.1")
    assert accounts.authenticate("grace", "password123", "10.0.0.1").username == "grace"


def test_username_wide_and_address_wide_ceilings(database: str, monkeypatch) -> None:
    monkeypatch.setenv("LOGIN_ACCOUNT_ATTEMPTS", "6")
    monkeypatch.setenv("LOGIN_ADDRESS_ATTEMPTS", "8")
    get_settings.cache_clear()
    accounts.reset_login_limiter()
    accounts.register("grace", "password123")
    for index in range(6):  # guessing spread over many addresses
        with pytest.raises(AuthError):
            accounts.authenticate("grace", "wrong-password", f"10.1.0.{index}")
    with pytest.raises(RateLimited):
        accounts.authenticate("grace", "password123", "10.1.0.99")
    for index in range(8):  # one address sweeping usernames
        with pytest.raises(AuthError):
            accounts.authenticate(f"sweep{index}", "wrong-password", "10.2.0.1")
    accounts.register("henry", "password123")
    with pytest.raises(RateLimited):
        accounts.authenticate("henry", "password123", "10.2.0.1")
    assert accounts.authenticate("henry", "password123", "10.2.0.2").username == "henry"


def test_one_failure_every_three_minutes_does_not_lock_for_ever(database: str, monkeypatch) -> None:
    from services.accounts import security

    clock = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: clock[0])
    accounts.register("grace", "password123")
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate("grace", "wrong", "10.0.0.1")
    with pytest.raises(RateLimited) as locked:
        accounts.authenticate("grace", "password123", "10.0.0.1")
    assert locked.value.retry_after == 15 * 60
    for _ in range(5):  # the attacker keeps trying, once every 3 minutes
        clock[0] += 180
        with pytest.raises((RateLimited, AuthError)):
            accounts.authenticate("grace", "wrong", "10.0.0.1")
    # The window opened at the first failure and has ended: the owner gets in.
    assert accounts.authenticate("grace", "password123", "10.0.0.1").username == "grace"


def test_every_failed_sign_in_is_audited_without_the_password(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    accounts.register("grace", "password123")
    caplog.set_level("INFO", logger="audit")
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate("grace", "s3cret-guess", "10.0.0.1")
    with pytest.raises(RateLimited):
        accounts.authenticate("grace", "s3cret-guess", "10.0.0.1")
    lines = [r.getMessage() for r in caplog.records if r.name == "audit"]
    failed = [line for line in lines if "event=signin.failed" in line]
    assert len(failed) == 5
    assert all("user=grace" in line and "address=10.0.0.1" in line for line in failed)
    assert all("time=20" in line for line in failed)
    assert any("event=signin.locked" in line for line in lines)
    assert "s3cret-guess" not in caplog.text


def test_closed_registration_still_allows_first_account(database: str, monkeypatch) -> None:
    monkeypatch.setenv("ALLOW_REGISTRATION", "false")
    from core.config import get_settings

    get_settings.cache_clear()
    assert accounts.register("henry", "password123").role == Role.admin
    with pytest.raises(ValidationError, match="closed"):
        accounts.register("ivy", "password123")


def test_downgrade_to_base_and_back(database: str) -> None:
    from alembic import command

    config = db.alembic_config(db.get_settings().resolved_database_url)
    db.reset_engine()
    command.downgrade(config, "base")
    assert "user" not in sa.inspect(db.get_engine()).get_table_names()
    command.upgrade(config, "head")
    assert "user" in sa.inspect(db.get_engine()).get_table_names()


def test_timestamps_keep_microseconds(database: str) -> None:
    from models import utcnow

    user = accounts.create_user("timer", "password123")
    moment = utcnow().replace(microsecond=123456)
    with db.session_scope() as session:
        stored = session.get(type(user), user.id)
        stored.last_active_at = moment
        session.add(stored)
    with db.session_scope() as session:
        assert session.get(type(user), user.id).last_active_at == moment


def test_overlong_password_is_refused_on_the_field(database: str) -> None:
    with pytest.raises(ValidationError, match="at most") as info:
        accounts.register("longpw", "x" * 5000, "x" * 5000)
    assert info.value.field == "password"
    accounts.register("okpw", "x" * 1024)
    with pytest.raises(AuthError):
        accounts.authenticate("okpw", "x" * 5000)  # a huge guess fails quietly, no crash


def test_limiter_forgets_keys_without_recent_failures() -> None:
    from services.accounts.security import AttemptLimiter

    limiter = AttemptLimiter(limit=2, window_seconds=60)
    for index in range(1000):
        assert not limiter.blocked(f"user:probe{index}")
    assert limiter._failures == {}
    limiter.fail("user:x")
    limiter.fail("user:x")
    assert limiter.blocked("user:x")
    limiter.clear("user:x")
    assert not limiter.blocked("user:x")
