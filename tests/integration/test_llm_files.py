"""Files, vector stores, models and container files through the real SDK and the simulator."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI, NotFoundError

from core.config import Settings
from core.errors import ServiceError
from services.llm.client import make_async_client
from services.llm.factory import documents_supported, files_backend, open_file_store
from services.llm.files import (
    DocumentsUnsupported,
    FileStoreError,
    Indexing,
    NoFileStore,
    OpenAIFileStore,
    UpstreamMissing,
    delete_everywhere,
    wait_indexed,
)
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


# ---------------------------------------------------------------- the FileStore protocol


def store_settings(sim: SimulatorServer, **overrides: object) -> Settings:
    return llm_settings(sim.base_url, llm_max_retries=0, **overrides)


@pytest.mark.parametrize(
    ("llm_api", "llm_files", "backend"),
    [
        ("responses", "auto", "openai"),
        ("chat_completions", "auto", "none"),
        ("chat_completions", "openai", "openai"),
        ("responses", "none", "none"),
    ],
)
async def test_the_backend_is_picked_by_name_from_settings(
    sim: SimulatorServer, llm_api: str, llm_files: str, backend: str
) -> None:
    settings = store_settings(sim, llm_api=llm_api, llm_files=llm_files)
    assert files_backend(settings) == backend
    assert documents_supported(settings) == (backend == "openai")
    async with open_file_store(settings) as store:
        assert store.name == backend and store.supports_documents == (backend == "openai")


async def test_openai_store_uploads_indexes_fetches_and_deletes(sim: SimulatorServer) -> None:
    async with open_file_store(store_settings(sim)) as store:
        assert isinstance(store, OpenAIFileStore)
        file_id = await store.upload("handbook.md", b"# Be kind", "text/markdown", "assistants")
        store_id = await store.create_vector_store("assistant-1", {"assistant_id": "1"})
        assert await store.vector_store_bytes(store_id) == 0
        assert (await store.attach(store_id, file_id)).state in ("processing", "ready")
        assert await wait_indexed(store, store_id, file_id, timeout=5) == Indexing("ready")
        assert await store.vector_store_bytes(store_id) == len(b"# Be kind")  # storage billed on
        assert await store.file_content(file_id) == b"# Be kind"
        chart = await store.file_content("cfile_sim_chart", container_id="cntr_sim")
        assert chart.startswith(b"\x89PNG")
        await delete_everywhere(store, store_id, file_id)
        await delete_everywhere(store, store_id, file_id)  # already gone is fine
        await store.delete_vector_store(store_id)
        await store.delete_vector_store(store_id)
        assert await store.vector_store_bytes(store_id) is None
        with pytest.raises(UpstreamMissing):
            await store.index_status(store_id, file_id)
    assert file_id not in sim.files and store_id not in sim.vector_stores


async def test_failed_indexing_is_a_status_not_an_exception(sim: SimulatorServer) -> None:
    async with open_file_store(store_settings(sim)) as store:
        file_id = await store.upload("bad.txt", b"SIM_FAIL_INDEXING", "text/plain", "assistants")
        store_id = await store.create_vector_store("broken", {})
        await store.attach(store_id, file_id)
        indexing = await wait_indexed(store, store_id, file_id, timeout=5)
    assert indexing.state == "failed" and indexing.error


async def test_provider_errors_come_out_as_friendly_file_store_errors() -> None:
    settings = llm_settings("http://127.0.0.1:9/v1", llm_max_retries=0)  # nobody listens
    async with open_file_store(settings) as store:
        with pytest.raises(FileStoreError, match="Could not reach the model provider"):
            await store.upload("a.txt", b"a", "text/plain", "assistants")


async def test_no_file_store_refuses_documents_with_the_plain_message(sim: SimulatorServer) -> None:
    async with open_file_store(store_settings(sim, llm_files="none")) as store:
        assert isinstance(store, NoFileStore)
        for call in (
            store.upload("a.txt", b"a", "text/plain", "assistants"),
            store.create_vector_store("x", {}),
            store.attach("vs_1", "file_1"),
            store.file_content("file_1"),
        ):
            with pytest.raises(DocumentsUnsupported) as caught:
                await call
            assert str(caught.value) == "Documents are not supported by this provider."
            assert isinstance(caught.value, ServiceError)  # shown as a friendly message
        await delete_everywhere(store, "vs_1", "file_1")  # nothing to delete: no error
        await store.delete_vector_store("vs_1")
        assert await store.vector_store_bytes("vs_1") is None
    assert not sim.requests
