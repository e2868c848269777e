"""Knowledge files through the real openai SDK and the simulator, on SQLite and MariaDB."""

from __future__ import annotations

import asyncio
import socket

import pytest
from sqlmodel import select

from core import db
from core.config import get_settings
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from models import FileStatus, StoredFile, User
from services.assistants import knowledge
from services.assistants import manage as svc
from services.assistants.knowledge import KnowledgeFile
from services.assistants.manage import AssistantInput
from simulator.server import SimulatorServer
from tests.factories import make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def provider(database: str, llm_env: SimulatorServer) -> SimulatorServer:
    """The app's settings point at the simulator, on each database."""
    return llm_env


@pytest.fixture
def alice(provider: SimulatorServer) -> User:
    make_user("root")  # the first user is the admin
    return make_user("alice")


def new_assistant(user: User, **fields: object) -> int:
    data = AssistantInput(name="Docs bot", tools=["file_search"], **fields)
    return svc.create_assistant(user, data).id


async def settled(user: User, assistant_id: int) -> list[KnowledgeFile]:
    """Poll like the page does until no file is processing."""
    for _ in range(100):
        files = await knowledge.refresh_statuses(user, assistant_id)
        if all(f.status != FileStatus.processing for f in files):
            return files
        await asyncio.sleep(0.03)
    raise AssertionError("files never settled")


def provider_ids(assistant_id: int) -> dict[str, str]:
    """File name -> provider file id, as recorded in our database."""
    with db.session_scope() as session:
        rows = session.exec(select(StoredFile).where(StoredFile.assistant_id == assistant_id))
        return {row.name: row.provider_file_id for row in rows}


def upstream_paths(sim: SimulatorServer, method: str) -> list[str]:
    return [r["path"] for r in sim.requests if r["method"] == method]


async def test_upload_indexes_into_one_vector_store(alice: User, provider: SimulatorServer) -> None:
    aid = new_assistant(alice)
    first = await knowledge.add_file(alice, aid, "../../etc/Hand\u202ebook.md", b"# Be kind\n")
    second = await knowledge.add_file(alice, aid, "policy.pdf", PDF)
    assert first.name == "Handbook.md" and first.mime == "text/markdown"
    assert second.mime == "application/pdf" and second.size == len(PDF)
    assert {first.status, second.status} <= {FileStatus.processing, FileStatus.ready}

    files = await settled(alice, aid)
    assert sorted((f.name, f.status, f.error) for f in files) == [
        ("Handbook.md", FileStatus.ready, None),
        ("policy.pdf", FileStatus.ready, None),
    ]
    store_id = svc.get_assistant_for_use(alice, aid).vector_store_id
    assert store_id in provider.vector_stores
    assert upstream_paths(provider, "POST").count("/v1/vector_stores") == 1  # created once
    uploads = [r["body"] for r in provider.requests if r["path"] == "/v1/files"]
    assert [(u["filename"], u["purpose"]) for u in uploads] == [
        ("Handbook.md", "assistants"),
        ("policy.pdf", "assistants"),
    ]
    attached = {fid for sid, fid in provider.vector_store_files if sid == store_id}
    assert len(attached) == 2
    assert svc.list_assistants(alice)[0].knowledge_files == 2


async def test_parallel_first_uploads_share_one_store(
    alice: User, provider: SimulatorServer
) -> None:
    aid = new_assistant(alice)
    results = await asyncio.gather(
        *(knowledge.add_file(alice, aid, f"n{i}.txt", b"note %d" % i) for i in range(4))
    )
    assert all(r.status != FileStatus.failed for r in results)
    store_id = svc.get_assistant_for_use(alice, aid).vector_store_id
    assert set(provider.vector_stores) & {store_id} == {store_id}
    created = [r for r in provider.requests if r["path"] == "/v1/vector_stores"]
    deleted = [p for p in upstream_paths(provider, "DELETE") if p.startswith("/v1/vector_stores/")]
    assert len(deleted) == len(created) - 1  # losers of the race removed theirs: no orphans
    assert not any(p.rsplit("/", 1)[-1] in provider.vector_stores for p in deleted)
    assert len([k for k in provider.vector_store_files if k[0] == store_id]) == 4
    assert {f.status for f in await settled(alice, aid)} == {FileStatus.ready}


async def test_indexing_failure_leaves_no_orphan(alice: User, provider: SimulatorServer) -> None:
    aid = new_assistant(alice)
    added = await knowledge.add_file(alice, aid, "bad.txt", b"SIM_FAIL_INDEXING please")
    [failed] = await settled(alice, aid)
    assert failed.id == added.id and failed.status == FileStatus.failed
    assert failed.error == "The simulator could not index this file."
    [file_id] = provider_ids(aid).values()
    assert f"/v1/files/{file_id}" in upstream_paths(provider, "DELETE")
    assert file_id not in provider.files
    assert not any(fid == file_id for _, fid in provider.vector_store_files)
    assert svc.list_assistants(alice)[0].knowledge_files == 0  # failed ones do not count

    await knowledge.remove_file(alice, aid, failed.id)
    assert knowledge.list_files(alice, aid) == []


async def test_provider_down_marks_the_file_failed(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = new_assistant(alice)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    result = await knowledge.add_file(alice, aid, "notes.txt", b"hello")
    assert result.status == FileStatus.failed and "provider" in (result.error or "").lower()
    assert svc.get_assistant_for_use(alice, aid).vector_store_id is None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        ("report.txt", PDF, "rename it to end in .pdf"),
        ("fake.pdf", b"just text", "not a valid .pdf"),
        ("tool.exe", b"MZ\x90\x00", "not supported"),
        ("data.json", b"{nope", "not valid JSON"),
        ("empty.md", b"", "empty"),
    ],
)
async def test_rejected_files_leave_no_trace(
    alice: User, provider: SimulatorServer, name: str, data: bytes, reason: str
) -> None:
    aid = new_assistant(alice)
    with pytest.raises(ValidationError, match=reason):
        await knowledge.add_file(alice, aid, name, data)
    assert knowledge.list_files(alice, aid) == []
    assert upstream_paths(provider, "POST") == []


async def test_size_and_count_limits_are_enforced_on_the_server(
    alice: User, provider: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_FILE_MB", "1")
    monkeypatch.setenv("MAX_FILES_PER_ASSISTANT", "1")
    get_settings.cache_clear()
    aid = new_assistant(alice)
    with pytest.raises(ValidationError, match="1 MB"):
        await knowledge.add_file(alice, aid, "big.txt", b"a" * (1024 * 1024 + 1))
    assert (await knowledge.add_file(alice, aid, "ok.txt", b"a" * 1024 * 1024)).size == 1048576
    with pytest.raises(ValidationError, match="at most 1 knowledge files"):
        await knowledge.add_file(alice, aid, "two.txt", b"b")


async def test_remove_detaches_and_deletes_upstream(alice: User, provider: SimulatorServer) -> None:
    aid = new_assistant(alice)
    await knowledge.add_file(alice, aid, "keep.md", b"keep")
    gone = await knowledge.add_file(alice, aid, "gone.md", b"gone")
    await settled(alice, aid)
    store_id = svc.get_assistant_for_use(alice, aid).vector_store_id
    ids = provider_ids(aid)
    await knowledge.remove_file(alice, aid, gone.id)
    assert [f.name for f in knowledge.list_files(alice, aid)] == ["keep.md"]
    assert ids["gone.md"] not in provider.files
    assert (store_id, ids["gone.md"]) not in provider.vector_store_files
    assert (store_id, ids["keep.md"]) in provider.vector_store_files
    with pytest.raises(NotFound):
        await knowledge.remove_file(alice, aid, gone.id)


async def test_deleting_the_assistant_cleans_up_upstream(
    alice: User, provider: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = new_assistant(alice)
    await knowledge.add_file(alice, aid, "a.md", b"alpha")
    await knowledge.add_file(alice, aid, "b.md", b"beta")
    await settled(alice, aid)
    store_id = svc.get_assistant_for_use(alice, aid).vector_store_id
    file_ids = set(provider_ids(aid).values())
    assert file_ids == {fid for sid, fid in provider.vector_store_files if sid == store_id}

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # provider unreachable
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    with pytest.raises(ServiceError, match="assistant was kept"):
        await asyncio.to_thread(svc.delete_assistant, alice, aid)
    assert len(knowledge.list_files(alice, aid)) == 2

    monkeypatch.setenv("OPENAI_BASE_URL", provider.base_url)
    get_settings.cache_clear()
    svc.delete_assistant(alice, aid)  # from a running loop too (the helper uses a thread)
    assert store_id not in provider.vector_stores
    assert not file_ids & set(provider.files)
    with pytest.raises(NotFound):
        knowledge.list_files(alice, aid)


async def test_a_lost_vector_store_is_recreated(alice: User, provider: SimulatorServer) -> None:
    aid = new_assistant(alice)
    await knowledge.add_file(alice, aid, "one.md", b"1")
    old_store = svc.get_assistant_for_use(alice, aid).vector_store_id
    del provider.vector_stores[old_store]  # e.g. the demo simulator restarted
    await knowledge.add_file(alice, aid, "two.md", b"2")
    new_store = svc.get_assistant_for_use(alice, aid).vector_store_id
    assert new_store != old_store and new_store in provider.vector_stores


async def test_only_editors_manage_files(alice: User, provider: SimulatorServer) -> None:
    bob = make_user("bob")
    private = new_assistant(alice)
    shared = new_assistant(alice, shared=True)
    added = await knowledge.add_file(alice, shared, "team.md", b"team")
    with pytest.raises(NotFound):
        await knowledge.add_file(bob, private, "x.md", b"x")
    with pytest.raises(NotFound):
        knowledge.list_files(bob, private)
    with pytest.raises(NotFound):
        await knowledge.refresh_statuses(bob, private)
    with pytest.raises(PermissionDenied):
        await knowledge.add_file(bob, shared, "x.md", b"x")
    with pytest.raises(PermissionDenied):
        await knowledge.remove_file(bob, shared, added.id)
    with pytest.raises(NotFound):  # a file id of another assistant
        await knowledge.remove_file(alice, private, added.id)
    assert [f.name for f in knowledge.list_files(bob, shared)] == ["team.md"]


async def test_a_provider_without_files_refuses_knowledge_with_a_plain_message(
    alice: User, provider: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = svc.create_assistant(alice, AssistantInput(name="Plain bot")).id
    assert knowledge.documents_refusal() is None
    monkeypatch.setenv("LLM_API", "chat_completions")  # LLM_FILES=auto: none (Ollama, vLLM)
    get_settings.cache_clear()
    assert knowledge.documents_refusal() == "Documents are not supported by this provider."
    with pytest.raises(ServiceError, match="^Documents are not supported by this provider.$"):
        await knowledge.add_file(alice, aid, "notes.md", b"# Notes")
    assert knowledge.list_files(alice, aid) == []
    assert not provider.requests  # refused before any request

    monkeypatch.setenv("LLM_FILES", "openai")  # a Chat Completions server that has Files
    get_settings.cache_clear()
    added = await knowledge.add_file(alice, aid, "notes.md", b"# Notes")
    assert added.status in (FileStatus.processing, FileStatus.ready)

    monkeypatch.setenv("LLM_FILES", "none")  # switched away: removing still works here
    get_settings.cache_clear()
    await knowledge.remove_file(alice, aid, added.id)
    assert knowledge.list_files(alice, aid) == []
