"""Administration services: admins only, last-admin guard, immediate effect on sessions."""

from __future__ import annotations

import pytest

from core.errors import NotFound, PermissionDenied, ValidationError
from services.accounts import admin, password_reset
from services.accounts import users as accounts
from services.accounts.users import RegistrationMode
from services.usage import dashboard
from services.usage import spend as usage
from tests.factories import add_assistant, add_conversation, add_reply, make_user


@pytest.fixture
def pair(database: str):
    return make_user("alice"), make_user("bob")


def test_every_admin_service_refuses_members(pair) -> None:
    alice, bob = pair
    calls = [
        lambda: admin.list_users(bob),
        lambda: admin.set_role(bob, bob.id, "admin"),
        lambda: admin.set_budget(bob, bob.id, "100"),
        lambda: admin.set_active(bob, alice.id, False),
        lambda: admin.registration_mode(bob),
        lambda: admin.set_registration_mode(bob, "open"),
        lambda: admin.create_account(bob, "carol", "password123"),
        lambda: admin.issue_reset_link(bob, alice.id),
        lambda: dashboard.team_usage(bob),
        lambda: usage.usage_by_user(bob),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()


def test_a_demoted_admin_loses_rights_at_once(pair) -> None:
    alice, bob = pair
    admin.set_role(alice, bob.id, "admin")
    stale_bob = bob  # the object a long-lived page still holds says "member"...
    admin.list_users(stale_bob)  # ...but the fresh role counts
    admin.set_role(alice, bob.id, "member")
    with pytest.raises(PermissionDenied):
        admin.list_users(bob)


def test_users_table_has_month_usage_and_budgets(pair) -> None:
    alice, bob = pair
    add_reply(add_conversation(bob, add_assistant(bob)), usage.month_start(), 2500, "m", 10, 5)
    admin.set_budget(alice, bob.id, "12.5")
    rows = {row.username: row for row in admin.list_users(alice)}
    assert rows["bob"].month_cost_micros == 2500 and rows["bob"].month_tokens == 15
    assert rows["bob"].budget_micros == 12_500_000 and not rows["bob"].uses_default_budget
    assert rows["alice"].budget_micros is None and rows["alice"].uses_default_budget
    admin.set_budget(alice, bob.id, "")
    assert {r.username: r for r in admin.list_users(alice)}["bob"].budget_micros is None


@pytest.mark.parametrize("bad", ["-1", "abc", "1e9", "nan"])
def test_budget_validation(pair, bad: str) -> None:
    alice, bob = pair
    with pytest.raises(ValidationError):
        admin.set_budget(alice, bob.id, bad)


def test_last_admin_cannot_be_demoted_or_disabled(pair) -> None:
    alice, bob = pair
    with pytest.raises(PermissionDenied, match="at least one active administrator"):
        admin.set_role(alice, alice.id, "member")
    with pytest.raises(PermissionDenied):
        admin.set_active(alice, alice.id, False)
    admin.set_role(alice, bob.id, "admin")
    admin.set_role(alice, alice.id, "member")  # bob is now the admin
    with pytest.raises(PermissionDenied):
        admin.set_role(alice, bob.id, "member")


def test_disabling_signs_out_at_once_and_enabling_restores_sign_in(pair) -> None:
    alice, bob = pair
    token = accounts.session_token(bob)
    admin.set_active(alice, bob.id, False)
    assert accounts.user_for_token(token) is None
    with pytest.raises(Exception, match="Wrong username or password"):
        accounts.authenticate("bob", "password123")
    admin.set_active(alice, bob.id, True)
    assert accounts.user_for_token(token) is None  # old sessions stay ended
    assert accounts.authenticate("bob", "password123").id == bob.id


def test_registration_modes_and_invites(pair) -> None:
    alice, _ = pair
    assert admin.registration_mode(alice) == RegistrationMode.open
    admin.set_registration_mode(alice, "invite")
    assert accounts.registration_mode() == RegistrationMode.invite
    with pytest.raises(ValidationError, match="closed"):
        accounts.register("dave", "password123")
    carol = admin.create_account(alice, "carol", "password123", "carol@example.com")
    assert carol.role == "member" and accounts.authenticate("carol", "password123")
    with pytest.raises(ValidationError):
        admin.set_registration_mode(alice, "everyone")


def test_admin_issues_a_reset_link(pair) -> None:
    alice, bob = pair
    link = admin.issue_reset_link(alice, bob.id)
    assert link.startswith("/reset-password?token=")  # no PUBLIC_URL: never a guessed host
    password_reset.reset_password(link.split("token=")[1], "brand-new-pass")
    assert accounts.authenticate("bob", "brand-new-pass").id == bob.id
    with pytest.raises(NotFound):
        admin.issue_reset_link(alice, 9999)


def test_admin_actions_and_refused_access_are_audited(
    pair, caplog: pytest.LogCaptureFixture
) -> None:
    from services.chat.conversations import get_conversation
    from tests.factories import add_assistant, add_conversation

    alice, bob = pair
    caplog.set_level("INFO", logger="audit")
    admin.set_role(alice, bob.id, "admin")
    admin.set_budget(alice, bob.id, "12.50")
    link = admin.issue_reset_link(alice, bob.id)
    admin.set_registration_mode(alice, "invite")
    conversation_id = add_conversation(alice, add_assistant(alice))
    with pytest.raises(NotFound):
        get_conversation(bob, conversation_id)  # another user's id
    lines = [r.getMessage() for r in caplog.records if r.name == "audit"]
    for event in ("admin.set_role", "admin.set_budget", "admin.issue_reset_link"):
        assert any(f"event={event} user_id={alice.id} user=alice" in line for line in lines)
    assert any(
        "event=admin.set_registration_mode" in line and "mode=invite" in line for line in lines
    )
    refused = [line for line in lines if "event=access.refused" in line]
    assert refused and f"user_id={bob.id}" in refused[0] and "kind=conversation" in refused[0]
    assert all("time=20" in line for line in lines)
    assert link.split("token=")[1] not in caplog.text  # never a secret
