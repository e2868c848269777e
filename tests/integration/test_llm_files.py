"""Files, vector stores, models and container files through the real SDK and the simulator."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI, NotFoundError

from services.llm.client import make_async_client
from simulator.server import SimulatorServer
from tests.simulator_fixtures import llm_settings


@pytest.fixture
def client(sim: SimulatorServer) -> AsyncOpenAI:
    return make_async_client(llm_settings(sim.base_url))


async def test_upload_and_poll_completes(sim: SimulatorServer, client: AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="Handbook")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("handbook.md", b"# Handbook\nBe kind.", "text/markdown")
    )
    assert done.status == "completed" and done.last_error is None
    polls = [e for e in sim.requests if e["method"] == "GET" and "/vector_stores/" in e["path"]]
    assert polls, "the file should be in_progress for a moment"
    refreshed = await client.vector_stores.retrieve(store.id)
    assert refreshed.file_counts.completed == 1 and refreshed.usage_bytes > 0
    uploaded = await client.files.retrieve(done.id)
    assert uploaded.filename == "handbook.md"
    assert (await client.files.content(done.id)).content == b"# Handbook\nBe kind."


async def test_indexing_failure_is_reported(client: AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="Broken")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("bad.txt", b"SIM_FAIL_INDEXING here", "text/plain")
    )
    assert done.status == "failed"
    assert done.last_error is not None and done.last_error.message


async def test_deletions(client: AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="Temp")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", b"alpha", "text/plain")
    )
    assert (await client.vector_stores.files.delete(done.id, vector_store_id=store.id)).deleted
    assert (await client.files.delete(done.id)).deleted
    assert (await client.vector_stores.delete(store.id)).deleted
    with pytest.raises(NotFoundError):
        await client.files.retrieve(done.id)
    with pytest.raises(NotFoundError):
        await client.vector_stores.retrieve(store.id)


async def test_file_search_cites_a_file_of_the_store(client: AsyncOpenAI) -> None:
    store = await client.vector_stores.create(name="Docs")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("policy.pdf", b"%PDF policy", "application/pdf")
    )
    response = await client.responses.create(
        model="gpt-4.1-mini",
        input="What is the policy?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    )
    annotations = response.output[-1].content[0].annotations
    assert (annotations[0].file_id, annotations[0].filename) == (done.id, "policy.pdf")


async def test_models_and_container_file_content(client: AsyncOpenAI) -> None:
    ids = [model.id async for model in client.models.list()]
    assert "gpt-4.1-mini" in ids and "o4-mini" in ids
    content = await client.containers.files.content.retrieve(
        "cfile_sim_chart", container_id="cntr_sim"
    )
    assert content.content.startswith(b"\x89PNG")
