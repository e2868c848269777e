"""Single sign-on against a real OpenID provider (node's oidc-provider, tests/oidc).

The app runs as a subprocess sharing this test's SQLite file, so the test can seed groups and
accounts and read what a sign-in left behind. The HTTP tests walk the provider's own login and
consent forms as a browser would; the Chromium test clicks through them.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from core.db import session_scope
from models import AuditEvent, GroupMember, OidcIdentity, Role, User
from services.accounts import groups
from services.accounts.sso import SSO_ERRORS
from tests.e2e.conftest import AppServer
from tests.e2e.oidc_provider import Provider, provider_launcher, sign_in_at_provider, with_state
from tests.factories import make_user


@pytest.fixture
def start_provider(tmp_path: Path) -> Iterator[Callable[[], Provider]]:
    """Start the real OpenID provider (skipped unless `npm ci` ran in tests/oidc)."""
    yield from provider_launcher(tmp_path)


def _start(start_app: Callable[..., AppServer], provider: Provider, **extra: str) -> AppServer:
    return start_app(DATABASE_URL=os.environ["DATABASE_URL"], **provider.app_env(**extra))


def _finish(client: httpx.Client, callback_url: str) -> str:
    """Open the callback; where the app sends the browser."""
    response = client.get(callback_url, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


def _user(username: str) -> User | None:
    with session_scope() as session:
        return session.exec(select(User).where(User.username == username)).first()


def test_sso_creates_links_and_maps_groups(start_app, start_provider) -> None:
    provider = start_provider()
    server = _start(start_app, provider)
    admin = make_user("admin")  # the team's first account (admin); SSO accounts are members
    engineering = groups.create_group(admin, "engineering")
    carol = make_user("carol-local", email="Carol@Example.com")  # provider: email_verified
    make_user("bob", email="bob@example.com")  # provider: email NOT verified

    with httpx.Client(timeout=30) as client:
        hand_off = _finish(client, sign_in_at_provider(client, server.url, "alice"))
        assert hand_off.startswith("/session/start?nonce=")
        landed = client.get(f"{server.url}{hand_off}", follow_redirects=False)
        assert landed.status_code == 303 and landed.headers["location"] == "/"
        dashboard = client.get(f"{server.url}/", follow_redirects=False)
        assert dashboard.status_code == 200  # the app's normal session: no redirect to sign-in
    alice = _user("alice")
    assert alice is not None and alice.role == Role.member and alice.email == "alice@example.com"
    with session_scope() as session:
        identity = session.exec(select(OidcIdentity).where(OidcIdentity.user_id == alice.id)).one()
        member = session.get(GroupMember, (engineering.id, alice.id))
    assert (identity.issuer, identity.subject) == (provider.issuer, "sub-alice")
    assert member is not None and member.source == "sso"  # "unknown-group" was not invented

    with httpx.Client(timeout=30) as client:  # a verified email links the existing account
        _finish(client, sign_in_at_provider(client, server.url, "carol"))
    assert _user("carol") is None
    with session_scope() as session:
        linked = session.exec(select(OidcIdentity).where(OidcIdentity.subject == "sub-carol")).one()
    assert linked.user_id == carol.id

    with httpx.Client(timeout=30) as client:  # an unverified one never takes over "bob"
        _finish(client, sign_in_at_provider(client, server.url, "bob"))
    with session_scope() as session:
        bob_identity = session.exec(
            select(OidcIdentity).where(OidcIdentity.subject == "sub-bob")
        ).one()
    assert bob_identity.user_id != _user("bob").id and _user("bob2") is not None

    with httpx.Client(timeout=30) as client:  # signing in again finds the same account by sub
        _finish(client, sign_in_at_provider(client, server.url, "alice"))
    with session_scope() as session:
        assert len(session.exec(select(User).where(User.username.like("alice%"))).all()) == 1
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.ok")).all()
    assert sum(1 for e in events if e.details.get("method") == "sso") == 4


def _refusal(client: httpx.Client, server: AppServer, callback_url: str, key: str) -> None:
    location = _finish(client, callback_url)
    assert location.startswith(f"/login?sso_error={key}"), location
    page = client.get(f"{server.url}{location}")
    assert SSO_ERRORS[key].split(" (")[0] in page.text


def test_wrong_state_expired_code_and_tampered_token_are_refused(start_app, start_provider) -> None:
    provider = start_provider()
    server = _start(start_app, provider)
    make_user("admin")
    with httpx.Client(timeout=30) as client:
        callback = sign_in_at_provider(client, server.url, "alice")
        _refusal(client, server, with_state(callback, "forged-state"), "state")
    with httpx.Client(timeout=30) as client:
        callback = sign_in_at_provider(client, server.url, "slowpoke")  # codes live 1 s
        time.sleep(2.5)
        _refusal(client, server, callback, "code")
    with httpx.Client(timeout=30) as client:  # the provider's answer is altered on the way
        _refusal(client, server, sign_in_at_provider(client, server.url, "mallory"), "token")
    assert _user("alice") is None and _user("slowpoke") is None and _user("mallory") is None
    with session_scope() as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.failed")).all()
    assert sorted(e.details["reason"] for e in failed) == ["code", "state", "token"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_app_starts_with_an_unreachable_issuer_and_says_so(start_app) -> None:
    server = start_app(
        OIDC_ISSUER=f"http://127.0.0.1:{_closed_port()}", OIDC_CLIENT_ID="studio"
    )  # start_app waited for /health: the app is up without its issuer
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        login = client.get(f"{server.url}/login")
        assert "Sign in with 127.0.0.1" in login.text
        page = client.get(f"{server.url}/auth/oidc/start")
    assert "sso_error=unreachable" in str(page.url)
    assert "could not be reached" in page.text


@pytest.mark.browser
def test_sso_sign_in_in_chromium(start_app, start_provider, page: Page) -> None:
    provider = start_provider()
    server = _start(start_app, provider, OIDC_ONLY="true")
    make_user("admin")
    page.goto(f"{server.url}/login")
    expect(page.get_by_label("Password")).to_have_count(0)  # SSO only: no password sign-in
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.locator("input[name=login]").fill("alice", timeout=30_000)
    page.locator("input[name=password]").fill("any-password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click(timeout=30_000)
    expect(page.get_by_text("Welcome, alice")).to_be_visible(timeout=30_000)
    assert page.url.rstrip("/") == server.url
