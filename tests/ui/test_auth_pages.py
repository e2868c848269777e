"""Sign-up, sign-in, the guard and sign-out through NiceGUI's simulated user."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from tests.ui.helpers import log_out, register, sign_in


async def test_register_lands_on_dashboard(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    await user.should_see("Admin")  # the first account is the administrator


async def test_duplicate_username_is_refused_inline(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    await log_out(user)
    await user.should_see("Sign in", retries=20)
    await register(user, "ALICE")
    await user.should_see("That username is taken.")


async def test_mismatched_passwords(user: User) -> None:
    await register(user, "bob", "password123", "password999")
    await user.should_see("The passwords do not match.")
    await user.should_not_see("Welcome, bob")


async def test_short_password_and_empty_username(user: User) -> None:
    await register(user, "", "short")
    await user.should_see("Enter a username.")


async def test_wrong_password_does_not_reveal_the_account(user: User) -> None:
    await register(user, "carol")
    await user.should_see("Welcome, carol", retries=30)
    await log_out(user)
    await sign_in(user, "carol", "wrong-password")
    await user.should_see("Wrong username or password.")
    await sign_in(user, "nobody", "wrong-password")
    await user.should_see("Wrong username or password.")


async def test_guard_redirects_and_returns_to_next(user: User) -> None:
    await register(user, "dave")
    await user.should_see("Welcome, dave", retries=30)
    await log_out(user)
    await user.should_see("Sign in", retries=20)
    response = await user.http_client.get("/?tab=usage")
    assert response.status_code == 307
    assert response.headers["location"] == "/login?next=/%3Ftab%3Dusage"
    await user.open(response.headers["location"])
    user.find("Username").type("dave")
    user.find("Password").type("password123")
    user.find(kind=ui.button, content="Sign in").click()
    await user.should_see("Welcome, dave", retries=20)
    # Through the one-time link that moves the token into a new session id.
    assert user.back_history[-1].startswith("/session/start?nonce=")
    assert user.back_history[-1].endswith("&next=/%3Ftab%3Dusage")


def _session_id(user: User) -> str:
    import base64
    import json

    cookie = user.http_client.cookies["session"]
    return json.loads(base64.b64decode(cookie.split(".")[0]))["id"]


async def test_sign_in_rotates_the_session_id(user: User) -> None:
    await register(user, "frank")
    await user.should_see("Welcome, frank", retries=30)
    await log_out(user)
    planted = _session_id(user)  # what an attacker could have set in this browser
    planted_cookie = user.http_client.cookies["session"]
    await sign_in(user, "frank")
    await user.should_see("Welcome, frank", retries=30)
    assert _session_id(user) != planted
    # The planted id is worth nothing: the attacker's requests with it are not signed in.
    user.http_client.cookies.clear()
    user.http_client.cookies.set("session", planted_cookie)
    attacker = await user.http_client.get("/", follow_redirects=False)
    assert attacker.status_code == 307


async def test_a_session_link_works_once(user: User) -> None:
    response = await user.http_client.get("/session/start?nonce=made-up", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_next_only_follows_local_paths(user: User) -> None:
    await register(user, "erin")
    await user.should_see("Welcome, erin", retries=30)
    await log_out(user)
    await user.open("/login?next=https://evil.example/")
    user.find("Username").type("erin")
    user.find("Password").type("password123")
    user.find(kind=ui.button, content="Sign in").click()
    await user.should_see("Welcome, erin", retries=30)


async def test_logout_then_back_cannot_reach_a_page(user: User) -> None:
    await register(user, "frank")
    await user.should_see("Welcome, frank", retries=30)
    await log_out(user)
    await user.should_see("Sign in", retries=20)
    await user.open("/")
    await user.should_see("Sign in", retries=20)
    await user.should_not_see("Welcome, frank")


async def test_unknown_url_shows_friendly_404(user: User) -> None:
    await register(user, "gina")
    await user.should_see("Welcome, gina", retries=30)
    response = await user.http_client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_enter_submits_sign_in(user: User) -> None:
    await register(user, "hank")
    await user.should_see("Welcome, hank", retries=30)
    await log_out(user)
    await user.open("/login")
    user.find("Username").type("hank")
    user.find("Password").type("password123").trigger("keydown.enter")
    await user.should_see("Welcome, hank", retries=30)
    assert user.find(ui.header)


async def test_database_down_gives_a_friendly_message_and_503(user: User, monkeypatch) -> None:
    from core import db
    from core.config import get_settings

    await user.open("/login")
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://nobody:x@127.0.0.1:1/studio")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    get_settings.cache_clear()
    db.reset_engine()
    user.find("Username").type("alice")
    user.find("Password").type("password123")
    user.find(kind=ui.button, content="Sign in").click()
    await user.should_see("cannot reach its database", retries=50)
    health = await user.http_client.get("/health")
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
