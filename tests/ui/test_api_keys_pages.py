"""API keys on the profile and admin pages, and the API docs for signed-in users."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from services.accounts import api_keys
from tests.factories import make_user
from tests.ui.helpers import register
from tests.ui.test_admin import wait_until
from tests.ui.test_dashboard import account


async def _profile(user: User, name: str = "alice") -> None:
    await register(user, name)
    await user.should_see(f"Welcome, {name}", retries=30)
    await user.open("/profile")
    await user.should_see("Your keys", retries=30)


async def test_a_key_is_created_shown_once_and_revoked_in_the_profile(user: User) -> None:
    await _profile(user)
    await user.should_see("No API keys yet.")
    user.find(kind=ui.button, content="Create key").click()  # no name yet
    await user.should_see("Give the key a name", retries=30)

    user.find("Key name").type("deploy script")
    user.find(kind=ui.button, content="Create key").click()
    await user.should_see("you won't see it again", retries=30)
    shown = user.find(marker="new-api-key").elements.pop().value
    assert shown.startswith("as_")
    owner = api_keys.owner_for_key(shown)
    assert owner is not None and owner.user.username == "alice"
    await user.should_see("Copy key")
    user.find(kind=ui.button, content="Done").click()
    await user.should_see(kind=ui.button, content="Revoke", retries=30)  # the list, refreshed
    assert shown not in str(user.find(kind=ui.label).elements)  # only the prefix is listed

    user.find(kind=ui.button, content="Revoke").click()
    await user.should_see("revoked", retries=30)
    await wait_until(lambda: api_keys.owner_for_key(shown) is None)


async def test_admins_see_and_revoke_everyones_keys(user: User) -> None:
    await register(user, "boss")
    await user.should_see("Welcome, boss", retries=30)
    alice = make_user("alice")
    key = api_keys.create_key(alice, "alice laptop")
    await user.open("/admin")
    await user.should_see("alice · alice laptop", retries=30)
    await user.should_see(kind=ui.button, content="Revoke", retries=30)
    user.find(kind=ui.button, content="Revoke").click()
    await user.should_see("of alice revoked", retries=30)
    assert api_keys.owner_for_key(key.secret) is None
    assert account("boss").role == "admin"


async def test_api_docs_are_served_to_a_signed_in_browser(user: User) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=30)
    page = await user.http_client.get("/api/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "/api/docs-assets/swagger-ui-bundle.js" in page.text  # served here, no CDN
    schema = (await user.http_client.get("/api/openapi.json")).json()
    assert {"/api/assistants", "/api/usage", "/v1/chat/completions", "/v1/models"} <= set(
        schema["paths"]
    )
    body = schema["components"]["schemas"]["ChatCompletionRequest"]
    assert {"model", "messages", "stream"} <= set(body["properties"])
    assert (await user.http_client.get("/api/docs-assets/swagger-ui-bundle.js")).status_code == 200
