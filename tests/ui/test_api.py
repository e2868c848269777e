"""The JSON API: health, Bearer tokens, and only my own conversations."""

from __future__ import annotations

from nicegui.testing import User

from services.accounts import users as accounts
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations
from services.runtime import liveness
from tests.factories import make_user


async def token_for(user: User, name: str, password: str = "password123") -> str:
    response = await user.http_client.post(
        "/api/token", data={"username": name, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_health_checks_the_database(user: User) -> None:
    await user.open("/login")  # starts the app (and migrates its database)
    response = await user.http_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "instance": liveness.INSTANCE_ID,
    }
    liveness.start_draining()  # SIGTERM: the load balancer must send no one new here
    try:
        draining = await user.http_client.get("/health")
    finally:
        liveness.start_accepting()
    assert draining.status_code == 503 and draining.json()["status"] == "draining"


async def test_token_me_and_conversations_are_per_user(user: User) -> None:
    await user.open("/login")
    alice = make_user("alice")
    make_user("bob")
    helper = create_assistant(alice, AssistantInput(name="Helper"))
    mine = conversations.create_conversation(alice, helper.id)

    alice_token = await token_for(user, "alice")
    headers = {"Authorization": f"Bearer {alice_token}"}
    me = await user.http_client.get("/api/me", headers=headers)
    assert me.json()["username"] == "alice" and me.json()["role"] == "admin"
    listed = await user.http_client.get("/api/conversations", headers=headers)
    assert [item["id"] for item in listed.json()] == [mine.id]
    detail = await user.http_client.get(f"/api/conversations/{mine.id}", headers=headers)
    assert detail.status_code == 200
    assert detail.json()["conversation"]["title"] == mine.title

    bob_headers = {"Authorization": f"Bearer {await token_for(user, 'bob')}"}
    assert (await user.http_client.get("/api/conversations", headers=bob_headers)).json() == []
    foreign = await user.http_client.get(f"/api/conversations/{mine.id}", headers=bob_headers)
    assert foreign.status_code == 404


async def test_bad_credentials_and_revoked_tokens_are_refused(user: User) -> None:
    await user.open("/login")
    alice = make_user("alice")
    wrong = await user.http_client.post(
        "/api/token", data={"username": "alice", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    token = await token_for(user, "alice")
    accounts.revoke_sessions(alice.id)
    response = await user.http_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert (await user.http_client.get("/api/me")).status_code == 401


async def test_oversized_uploads_are_refused_before_they_reach_disk(user: User) -> None:
    await user.open("/login")
    path = "/_nicegui/client/some-client/upload/some-upload"
    too_big = await user.http_client.post(
        path, headers={"content-length": str(26 * 1024 * 1024)}, content=b""
    )
    assert too_big.status_code == 413 and "at most 25 MB" in too_big.text

    async def body():  # a streamed body has no Content-Length
        yield b"x" * 10

    chunked = await user.http_client.post(path, content=body())
    assert chunked.status_code == 411
