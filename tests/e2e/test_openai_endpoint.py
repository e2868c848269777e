"""The OpenAI-compatible endpoint and the JSON API, driven over real HTTP.

The real app runs in a subprocess backed by the test simulator; the client is the real
`openai` SDK (and httpx for /api). Users and keys are made through the real services in the
app's own SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from sqlmodel import select

from core.config import get_settings
from core.db import reset_engine, session_scope
from models import SpendEntry, SpendKind, User
from services.accounts import api_keys
from simulator.server import SimulatorServer
from tests.e2e.conftest import AppServer, spawn_app, stop_processes
from tests.factories import add_assistant, make_user
from tests.simulator_fixtures import TEST_API_KEY

pytestmark = pytest.mark.socket


@pytest.fixture(scope="module")
def app_on_simulator(
    simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """One app for the module (starting one is slow on a loaded machine), on the simulator."""
    process, server = spawn_app(
        tmp_path_factory.mktemp("openai-endpoint"),
        OPENAI_API_KEY=TEST_API_KEY,
        OPENAI_BASE_URL=simulator.base_url,
    )
    yield server
    stop_processes([process])


@pytest.fixture
def served(app_on_simulator: AppServer, sim, monkeypatch: pytest.MonkeyPatch) -> AppServer:
    """The app, with this process on its database (each test makes its own users)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{app_on_simulator.data_dir / 'studio.db'}")
    get_settings.cache_clear()
    reset_engine()
    return app_on_simulator


def _client(server: AppServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def _model_requests(sim) -> list[dict]:
    return [r for r in sim.requests if r["path"] in ("/v1/responses", "/v1/chat/completions")]


def _api_rows(user: User) -> list[SpendEntry]:
    with session_scope() as session:
        return list(
            session.exec(
                select(SpendEntry).where(
                    SpendEntry.user_id == user.id, SpendEntry.kind == SpendKind.reply
                )
            ).all()
        )


def test_sdk_lists_models_and_completes_with_and_without_streaming(served, sim) -> None:
    alice = make_user("alice")
    helper = add_assistant(alice, "Helper", instructions="Answer like a pirate.")
    key = api_keys.create_key(alice, "ide", "chat").secret
    client = _client(served, key)

    assert [m.id for m in client.models.list()] == [f"assistant-{helper.id}"]

    done = client.chat.completions.create(
        model=f"assistant-{helper.id}",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"},
        ],
    )
    assert done.object == "chat.completion" and done.choices[0].message.role == "assistant"
    assert done.choices[0].message.content and done.choices[0].finish_reason == "stop"
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    sent = _model_requests(sim)[-1]["body"]
    assert "Answer like a pirate." in str(sent) and "Be brief." in str(sent)  # both apply
    assert sent["model"] == "gpt-4.1-mini"  # the assistant's model, not the client's

    stream = client.chat.completions.create(
        model=f"assistant-{helper.id}",
        messages=[{"role": "user", "content": "Stream it"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0

    rows = _api_rows(alice)  # both calls are in the ledger, as replies with the assistant
    assert len(rows) == 2
    assert all(r.assistant_id == helper.id and r.conversation_id is None for r in rows)
    assert {r.conversation_label for r in rows} == {"API · ide"}
    assert rows[1].output_tokens == chunks[-1].usage.completion_tokens


def test_wrong_revoked_and_read_only_keys_are_refused(served, sim) -> None:
    alice = make_user("carol")
    helper = add_assistant(alice)
    messages = [{"role": "user", "content": "hi"}]

    with pytest.raises(openai.AuthenticationError) as wrong:
        _client(served, "as_" + "x" * 43).models.list()
    assert wrong.value.status_code == 401
    assert wrong.value.body["code"] == "invalid_api_key"  # OpenAI's error shape

    made = api_keys.create_key(alice, "old script")
    api_keys.revoke_key(alice, made.info.id)
    with pytest.raises(openai.AuthenticationError):
        _client(served, made.secret).chat.completions.create(
            model=f"assistant-{helper.id}", messages=messages
        )

    reader = _client(served, api_keys.create_key(alice, "dashboards", "read").secret)
    assert [m.id for m in reader.models.list()] == [f"assistant-{helper.id}"]
    with pytest.raises(openai.PermissionDeniedError) as refused:
        reader.chat.completions.create(model=f"assistant-{helper.id}", messages=messages)
    assert "read-only" in refused.value.message

    with pytest.raises(openai.NotFoundError):  # someone else's private assistant
        bob_key = api_keys.create_key(make_user("bob"), "bob").secret  # a member
        _client(served, bob_key).chat.completions.create(
            model=f"assistant-{helper.id}", messages=messages
        )
    assert _model_requests(sim) == []


def test_budget_refusal_reaches_no_provider(served, sim) -> None:
    alice = make_user("dave")
    helper = add_assistant(alice, monthly_budget_micros=1)  # far below any reply
    client = openai.OpenAI(
        base_url=f"{served.url}/v1", api_key=api_keys.create_key(alice, "ci").secret
    )  # default retries: the refusal must say not to retry
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(
            model=f"assistant-{helper.id}", messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.body["type"] == "insufficient_quota"
    assert "monthly budget" in refused.value.message
    recorded = httpx.get(
        sim.base_url.removesuffix("/v1") + "/_sim/requests",
        headers={"Authorization": f"Bearer {sim.token}"},
    ).json()
    assert [r for r in recorded if r["path"] != "/_sim/requests"] == []
    assert _api_rows(alice) == []


def test_json_api_streams_a_reply_into_a_conversation(served, sim) -> None:
    alice = make_user("erin")
    helper = add_assistant(alice)
    headers = {"Authorization": f"Bearer {api_keys.create_key(alice, 'script').secret}"}
    with httpx.Client(base_url=served.url, headers=headers, timeout=30) as http:
        assert http.get("/api/me").json()["key_scope"] == "chat"
        created = http.post("/api/conversations", json={"assistant_id": helper.id})
        assert created.status_code == 201, created.text
        conversation_id = created.json()["id"]
        events: list[tuple[str, str]] = []
        with http.stream(
            "POST", f"/api/conversations/{conversation_id}/messages", json={"text": "Hi!"}
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, line[6:]))
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "started" and kinds[-1] == "done" and "delta" in kinds
        detail = http.get(f"/api/conversations/{conversation_id}").json()
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
        assert detail["messages"][1]["status"] == "complete"
        usage = http.get("/api/usage").json()
        assert usage["replies"] == 1 and usage["cost_micros"] > 0

        assert http.get("/api/me", headers={"Authorization": "Bearer as_nope"}).status_code == 401
    anonymous = httpx.get(f"{served.url}/api/docs", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307) and "/login" in anonymous.headers["location"]
    assert httpx.get(f"{served.url}/api/openapi.json").status_code == 401
