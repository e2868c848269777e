"""SSO accounts from verified claims (the protocol is tested against a real provider in
tests/e2e/test_sso_oidc.py), and SSO-only mode; on SQLite and MariaDB."""

from __future__ import annotations

import pytest

from core.config import get_settings
from core.errors import AuthError, ValidationError
from models import Role
from services.accounts import admin, sso
from services.accounts.users import authenticate, register
from tests.factories import make_user

ISSUER = "https://idp.example.com"


def claims(sub: str, **more: object) -> dict:
    return {"iss": ISSUER, "sub": sub, **more}


def test_first_sso_account_is_admin_then_members_and_disabled_refused(database: str) -> None:
    first = sso.sign_in(claims("1", preferred_username="Ann Lee", email="ann@example.com"))
    assert (first.username, first.role) == ("ann-lee", Role.admin)
    second = sso.sign_in(claims("2", email="ann@example.com", email_verified=False))
    assert second.id != first.id and second.role == Role.member and second.username == "ann"
    assert sso.sign_in(claims("1")).id == first.id  # by sub, whatever the claims say now
    admin.set_active(first, second.id, False)
    with pytest.raises(AuthError, match="disabled"):
        sso.sign_in(claims("2"))
    with pytest.raises(AuthError):  # an SSO-made account has no usable password
        authenticate(first.username, "!sso")


def test_sso_only_refuses_password_sign_in_and_sign_up(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("root")
    for name, value in (("OIDC_ISSUER", ISSUER), ("OIDC_CLIENT_ID", "x"), ("OIDC_ONLY", "true")):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(AuthError, match="single sign-on only"):
        authenticate("root", "password123")
    with pytest.raises(ValidationError, match="single sign-on only"):
        register("newbie", "password123", "password123")
    monkeypatch.setenv("OIDC_ONLY", "false")
    get_settings.cache_clear()
    assert authenticate("root", "password123").username == "root"
