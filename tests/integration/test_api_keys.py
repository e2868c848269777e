"""Personal API keys and API calls at the service level, on SQLite and the real MariaDB."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.db import session_scope
from core.errors import BudgetExceeded, NotFound, PermissionDenied, RateLimited, ValidationError
from models import ApiKey, Reservation, SpendEntry, SpendKind, User, utcnow
from services.accounts import admin, api_keys
from services.chat import api_turn
from services.chat.api_turn import ApiReply, ClientMessage
from simulator.server import SimulatorServer
from tests.factories import add_assistant, make_user

HELLO = [ClientMessage("user", "Hello")]


@pytest.fixture
def team(database: str) -> tuple[User, User]:
    """An admin (the first account) and a member."""
    return make_user("boss"), make_user("alice")


def _row(key_id: int) -> ApiKey:
    with session_scope() as session:
        return session.get(ApiKey, key_id)


def test_a_key_is_shown_once_and_stored_only_as_its_digest(team, caplog) -> None:
    _, alice = team
    caplog.set_level(logging.INFO, logger="audit")
    made = api_keys.create_key(alice, "  my   script ", "read", 30)
    assert made.secret.startswith("as_") and len(made.secret) >= 3 + 32
    row = _row(made.info.id)
    assert row.key_hash == api_keys.digest(made.secret) and made.secret not in row.key_hash
    assert row.prefix == made.secret[:8] and made.info.name == "my script"
    assert (
        timedelta(days=29)
        < row.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        <= timedelta(days=30)
    )
    [listed] = api_keys.list_keys(alice)
    assert listed.prefix == row.prefix and listed.status == "active" and listed.scope == "read"
    assert "apikey.created" in caplog.text and made.secret not in caplog.text
    assert api_keys.create_key(alice, "forever", "chat", None).info.expires_at is None


@pytest.mark.parametrize(
    ("name", "scope", "days", "field"),
    [
        ("", "chat", 90, "name"),
        ("x" * 65, "chat", 90, "name"),
        ("ok", "admin", 90, "scope"),
        ("ok", "chat", 7, "expiry"),
    ],
)
def test_bad_key_settings_are_refused(team, name, scope, days, field) -> None:
    with pytest.raises(ValidationError) as refused:
        api_keys.create_key(team[1], name, scope, days)
    assert refused.value.field == field


def test_revoked_expired_and_disabled_keys_stop_at_once(team, caplog) -> None:
    boss, alice = team
    caplog.set_level(logging.INFO, logger="audit")
    first, second, third = (api_keys.create_key(alice, name) for name in ("a", "b", "c"))
    owner = api_keys.owner_for_key(first.secret)
    assert owner.user.id == alice.id and owner.can_chat
    assert api_keys.owner_for_key(first.secret[:-1] + "?") is None
    assert api_keys.owner_for_key("not-a-key") is None and api_keys.owner_for_key(None) is None

    api_keys.revoke_key(alice, first.info.id)
    assert api_keys.owner_for_key(first.secret) is None
    assert "apikey.revoked" in caplog.text and first.secret not in caplog.text

    with session_scope() as session:
        session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == second.info.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert api_keys.owner_for_key(second.secret) is None
    assert [k.status for k in api_keys.list_keys(alice)] == ["active", "expired", "revoked"]

    admin.set_active(boss, alice.id, False)
    assert api_keys.owner_for_key(third.secret) is None


def test_owners_and_admins_revoke_others_cannot(team) -> None:
    boss, alice = team
    bob = make_user("bob")
    key = api_keys.create_key(alice, "laptop")
    with pytest.raises(NotFound):
        api_keys.revoke_key(bob, key.info.id)
    with pytest.raises(PermissionDenied):
        api_keys.list_all_keys(alice)
    assert [(k.username, k.name) for k in api_keys.list_all_keys(boss)] == [("alice", "laptop")]
    assert api_keys.revoke_key(boss, key.info.id).status == "revoked"
    assert api_keys.list_keys(bob) == []


def test_last_used_is_written_at_most_once_a_minute(team) -> None:
    key = api_keys.create_key(team[1], "busy")
    api_keys.owner_for_key(key.secret)
    first = _row(key.info.id).last_used_at
    assert first is not None
    api_keys.owner_for_key(key.secret)
    assert _row(key.info.id).last_used_at == first  # no write per call
    with session_scope() as session:
        session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == key.info.id)
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    api_keys.owner_for_key(key.secret)
    assert _row(key.info.id).last_used_at.replace(tzinfo=None) > first.replace(tzinfo=None)


async def test_an_api_call_is_reserved_streamed_and_billed_as_a_reply(
    team, llm_env: SimulatorServer
) -> None:
    _, alice = team
    helper = add_assistant(alice, instructions="Be a pirate.")
    call = api_turn.begin(alice, helper.id, [ClientMessage("system", "Short."), *HELLO], "ide", 64)
    assert call.request.max_output_tokens == 64
    assert call.request.instructions == "Be a pirate.\n\nShort."
    reply = ApiReply()
    pieces = [piece async for piece in api_turn.stream(call, reply)]
    assert "".join(pieces) == reply.text and reply.text and reply.usage is not None
    with session_scope() as session:
        [row] = session.exec(select(SpendEntry).where(SpendEntry.user_id == alice.id)).all()
        held = session.get(Reservation, call.reservation_id)
    assert row.kind == SpendKind.reply and row.assistant_id == helper.id
    assert row.conversation_label == "API · ide" and row.cost_micros > 0
    assert row.output_tokens == reply.usage.output_tokens
    assert held.settled_at is not None


def test_api_calls_obey_budgets_limits_and_access(team, llm_env: SimulatorServer) -> None:
    boss, alice = team
    bob = make_user("bob")
    private = add_assistant(alice)
    with pytest.raises(NotFound):
        api_turn.begin(bob, private.id, HELLO, "bob")
    with pytest.raises(ValidationError):
        api_turn.begin(alice, private.id, [ClientMessage("system", "only a system message")], "x")
    with pytest.raises(ValidationError):
        api_turn.begin(alice, private.id, [ClientMessage("tool", "result")], "x")

    capped = add_assistant(alice, "Capped", monthly_budget_micros=1)
    with pytest.raises(BudgetExceeded) as refused:
        api_turn.begin(alice, capped.id, HELLO, "ci")
    assert "monthly budget" in str(refused.value)

    admin.set_limits(boss, alice.id, 1, None)
    api_turn.begin(alice, private.id, HELLO, "first")  # holds its reservation: running
    with pytest.raises(RateLimited):
        api_turn.begin(alice, private.id, HELLO, "second")
    assert [r for r in llm_env.requests if r["path"].startswith("/v1/")] == []


async def test_a_client_leaving_mid_stream_still_settles_what_streamed(
    team, llm_env: SimulatorServer
) -> None:
    _, alice = team
    helper = add_assistant(alice)
    llm_env.configure(tokens_per_s=200)
    call = api_turn.begin(alice, helper.id, HELLO, "ide")
    reply = ApiReply()
    pieces = api_turn.stream(call, reply)
    assert await anext(pieces)
    await pieces.aclose()  # what Starlette does when the client disconnects
    with session_scope() as session:
        held = session.get(Reservation, call.reservation_id)
        [row] = session.exec(select(SpendEntry).where(SpendEntry.user_id == alice.id)).all()
    assert held.settled_at is not None and reply.text
    assert row.price_source == "estimate" and row.output_tokens > 0
