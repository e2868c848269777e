"""The JSON API in-process: health, API-key auth, only my own data, assistants CRUD, docs."""

from __future__ import annotations

from nicegui.testing import User

from services.accounts import admin, api_keys
from services.chat import conversations
from services.runtime import liveness
from tests.factories import add_assistant, make_user


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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


async def test_me_and_conversations_are_per_user(user: User) -> None:
    await user.open("/login")
    alice = make_user("alice")
    bob = make_user("bob")
    helper = add_assistant(alice)
    mine = conversations.create_conversation(alice, helper.id)
    alice_key = bearer(api_keys.create_key(alice, "script").secret)

    me = await user.http_client.get("/api/me", headers=alice_key)
    assert me.json()["username"] == "alice" and me.json()["role"] == "admin"
    listed = await user.http_client.get("/api/conversations", headers=alice_key)
    assert [item["id"] for item in listed.json()] == [mine.id]
    detail = await user.http_client.get(f"/api/conversations/{mine.id}", headers=alice_key)
    assert detail.status_code == 200, detail.text
    assert detail.json()["conversation"]["title"] == mine.title

    bob_key = bearer(api_keys.create_key(bob, "bob").secret)
    assert (await user.http_client.get("/api/conversations", headers=bob_key)).json() == []
    foreign = await user.http_client.get(f"/api/conversations/{mine.id}", headers=bob_key)
    assert foreign.status_code == 404
    gone = await user.http_client.delete(f"/api/conversations/{mine.id}", headers=bob_key)
    assert gone.status_code == 404
    deleted = await user.http_client.delete(f"/api/conversations/{mine.id}", headers=alice_key)
    assert deleted.status_code == 204
    assert (await user.http_client.get("/api/conversations", headers=alice_key)).json() == []


async def test_assistants_crud_and_read_scope(user: User) -> None:
    await user.open("/login")
    alice = make_user("alice")
    writer = bearer(api_keys.create_key(alice, "writer").secret)
    reader = bearer(api_keys.create_key(alice, "reader", "read").secret)

    created = await user.http_client.post(
        "/api/assistants", headers=writer, json={"name": "Poet", "instructions": "Rhyme."}
    )
    assert created.status_code == 201, created.text
    poet = created.json()
    assert poet["openai_model"] == f"assistant-{poet['id']}" and poet["can_edit"]
    bad = await user.http_client.post("/api/assistants", headers=writer, json={"name": " "})
    assert bad.status_code == 422 and "name" in bad.text.lower()

    changed = await user.http_client.put(
        f"/api/assistants/{poet['id']}",
        headers=writer,
        json={"name": "Poet 2", "instructions": "Rhyme twice."},
    )
    assert changed.json()["name"] == "Poet 2"
    fetched = await user.http_client.get(f"/api/assistants/{poet['id']}", headers=reader)
    assert fetched.json()["instructions"] == "Rhyme twice."
    listed = await user.http_client.get("/api/assistants", headers=reader)
    assert [a["name"] for a in listed.json()] == ["Poet 2"]

    for method, path, body in (
        ("POST", "/api/assistants", {"name": "Nope"}),
        ("PUT", f"/api/assistants/{poet['id']}", {"name": "Nope"}),
        ("DELETE", f"/api/assistants/{poet['id']}", None),
        ("POST", "/api/conversations", {"assistant_id": poet["id"]}),
    ):
        refused = await user.http_client.request(method, path, headers=reader, json=body)
        assert refused.status_code == 403, (method, path)
        assert "read-only" in refused.json()["detail"]

    deleted = await user.http_client.delete(f"/api/assistants/{poet['id']}", headers=writer)
    assert deleted.status_code == 204
    assert (await user.http_client.get("/api/assistants", headers=reader)).json() == []


async def test_bad_revoked_expired_and_disabled_keys_are_refused(user: User) -> None:
    await user.open("/login")
    boss = make_user("boss")
    alice = make_user("alice")
    assert (await user.http_client.get("/api/me")).status_code == 401
    wrong = await user.http_client.get("/api/me", headers=bearer("as_" + "x" * 43))
    assert wrong.status_code == 401

    revoked = api_keys.create_key(alice, "old")
    assert (await user.http_client.get("/api/me", headers=bearer(revoked.secret))).is_success
    api_keys.revoke_key(boss, revoked.info.id)  # an admin revokes it
    assert (
        await user.http_client.get("/api/me", headers=bearer(revoked.secret))
    ).status_code == 401

    live = api_keys.create_key(alice, "live")
    admin.set_active(boss, alice.id, False)
    assert (await user.http_client.get("/api/me", headers=bearer(live.secret))).status_code == 401
    # The password exchange for a session token is gone (docs/api.md).
    old_route = await user.http_client.post(
        "/api/token", data={"username": "alice", "password": "password123"}
    )
    assert old_route.status_code in (404, 405)


async def test_openapi_docs_only_for_signed_in_users(user: User) -> None:
    await user.open("/login")
    anonymous = await user.http_client.get("/api/docs", follow_redirects=False)
    assert anonymous.status_code == 307 and anonymous.headers["location"].startswith("/login")
    assert (await user.http_client.get("/api/openapi.json")).status_code == 401


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
