"""Chat attachments, vision, generated files and export: real SDK, simulator, SQLite + MariaDB."""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import func, select

from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound, ServiceError, ValidationError
from models import (
    Conversation,
    ConversationMessage,
    FilePurpose,
    FileStatus,
    MessageStatus,
    StoredFile,
    User,
)
from services.assistants.manage import AssistantInput, create_assistant, update_assistant
from services.chat import conversations, export, generation
from services.chat import turn as chat
from services.files import attachments
from services.files import paths as file_paths
from services.files import store as file_store
from simulator.server import INDEXING_FAIL_MARKER, SimulatorServer
from tests.factories import make_user
from tests.simulator_fixtures import TEXT_ONLY

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def provider(database: str, llm_env: SimulatorServer, text_only_catalog: str) -> SimulatorServer:
    """Settings point at the simulator; the catalog also has a model without vision."""
    return llm_env


@pytest.fixture
def alice(provider: SimulatorServer) -> User:
    return make_user("alice")


def chat_with(user: User, model: str = "gpt-4.1-mini", tools: list[str] | None = None) -> int:
    assistant = create_assistant(
        user, AssistantInput(name="Helper", model=model, tools=tools or [])
    )
    return conversations.create_conversation(user, assistant.id).id


def png_with_exif() -> bytes:
    image = Image.new("RGB", (300, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def finished(turn: chat.Turn) -> ConversationMessage:
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        return session.get(ConversationMessage, turn.assistant_message_id)


def last_turn_body(sim: SimulatorServer) -> dict:
    return [r for r in sim.requests if r["path"] == "/v1/responses"][-1]["body"]


def stored_count() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(StoredFile)).one()


def files_on_disk() -> list[Path]:
    root = file_paths.files_root()
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def uploads_upstream(sim: SimulatorServer) -> list[dict]:
    return [r for r in sim.requests if r["path"] == "/v1/files" and r["method"] == "POST"]


def row(file_id: str) -> StoredFile | None:
    with session_scope() as session:
        return session.get(StoredFile, file_id)


# ---------------------------------------------------------------- images in


async def test_image_goes_to_a_vision_model_as_a_data_url_of_the_reencoded_image(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice)
    image = await attachments.add(alice, chat_id, "holiday.jpg", png_with_exif())
    assert image.status == FileStatus.ready and image.is_image and image.mime == "image/jpeg"
    assert attachments.pending(alice, chat_id) == [image]
    assert not uploads_upstream(provider)  # images stay here; the turn carries them inline

    reply = await finished(await chat.send(alice, chat_id, "What is in this picture?", [image.id]))
    assert reply.status == MessageStatus.complete
    parts = last_turn_body(provider)["input"][-1]["content"]
    assert parts[0] == {"type": "input_text", "text": "What is in this picture?"}
    assert parts[1]["type"] == "input_image"
    prefix = "data:image/jpeg;base64,"
    assert parts[1]["image_url"].startswith(prefix)
    sent = base64.b64decode(parts[1]["image_url"][len(prefix) :])
    stored = row(image.id)
    assert sent == file_paths.stored_path(stored).read_bytes()
    assert b"SecretCam" not in sent  # EXIF stripped before it ever leaves
    assert stored.message_id is not None and attachments.pending(alice, chat_id) == []
    with session_scope() as session:
        question = session.get(ConversationMessage, stored.message_id)
    assert question.attachments == [{"id": image.id, "name": "holiday.jpg", "mime": "image/jpeg"}]


async def test_images_are_refused_for_a_model_without_vision(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice, model=TEXT_ONLY)
    assert not attachments.model_sees_images(TEXT_ONLY)
    with pytest.raises(ValidationError, match="text-only-1 cannot see images"):
        await attachments.add(alice, chat_id, "photo.png", png_bytes())
    assert stored_count() == 0 and files_on_disk() == []

    # An image added while the assistant had a vision model is refused at send time.
    vision_chat = chat_with(alice)
    image = await attachments.add(alice, vision_chat, "photo.png", png_bytes())
    with session_scope() as session:
        assistant_id = session.get(Conversation, vision_chat).assistant_id
    update_assistant(alice, assistant_id, AssistantInput(name="Helper", model=TEXT_ONLY))
    with pytest.raises(ValidationError, match="cannot see images"):
        await chat.send(alice, vision_chat, "look", [image.id])
    assert row(image.id).message_id is None  # still in the composer, nothing was sent
    assert not [r for r in provider.requests if r["path"] == "/v1/responses"]


# ---------------------------------------------------------------- documents


async def test_document_is_indexed_in_the_conversation_store_and_enables_file_search(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice)  # the assistant itself has no tools
    added = await attachments.add(alice, chat_id, "notes.md", b"# Otters\nThey hold hands.\n")
    assert added.status in (FileStatus.processing, FileStatus.ready)
    ready = await attachments.wait_until_ready(alice, added.id)
    assert ready.status == FileStatus.ready and ready.mime == "text/markdown"
    second = await attachments.wait_until_ready(
        alice, (await attachments.add(alice, chat_id, "paper.pdf", PDF)).id
    )
    with session_scope() as session:
        store_id = session.get(Conversation, chat_id).vector_store_id
    assert store_id and store_id in provider.vector_stores  # one store for the conversation
    assert {f for s, f in provider.vector_store_files if s == store_id} == {
        row(added.id).provider_file_id,
        row(second.id).provider_file_id,
    }
    assert [u["body"]["purpose"] for u in uploads_upstream(provider)] == ["assistants"] * 2

    reply = await finished(await chat.send(alice, chat_id, "What do otters do?", [added.id]))
    body = last_turn_body(provider)
    assert {"type": "file_search", "vector_store_ids": [store_id]} in body["tools"]
    assert body["input"][-1] == {"role": "user", "content": "What do otters do?"}  # no part
    assert reply.citations[0]["kind"] == "file"
    assert reply.citations[0]["filename"] in ("notes.md", "paper.pdf")
    assert reply.tool_calls["file_search"] == 1


async def test_csv_is_sent_as_an_input_file(alice: User, provider: SimulatorServer) -> None:
    chat_id = chat_with(alice)
    added = await attachments.add(alice, chat_id, "sales.csv", b"month,total\njan,3\nfeb,5\n")
    assert added.status == FileStatus.ready and added.mime == "text/csv"
    assert uploads_upstream(provider)[-1]["body"]["purpose"] == "user_data"
    await finished(await chat.send(alice, chat_id, "Sum it", [added.id]))
    parts = last_turn_body(provider)["input"][-1]["content"]
    assert {"type": "input_file", "file_id": row(added.id).provider_file_id} in parts
    with session_scope() as session:
        assert session.get(Conversation, chat_id).vector_store_id is None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("big.txt", b"a" * (1024 * 1024 + 1), "big.txt is larger than the 1 MB limit per file."),
        ("tool.exe", b"MZ\x90\x00" + bytes(200), "tool.exe: this file type is not supported"),
        ("fake.png", b"just some text, not pixels", "not a supported image"),
        ("archive.txt", b"PK\x03\x04" + bytes(100), "archive.txt is not a text file"),
        ("empty.md", b"", "empty.md is empty."),
    ],
)
async def test_oversize_and_wrong_type_are_refused_leaving_nothing(
    alice: User,
    provider: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes,
    message: str,
) -> None:
    monkeypatch.setenv("MAX_FILE_MB", "1")
    get_settings.cache_clear()
    chat_id = chat_with(alice)
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        await attachments.add(alice, chat_id, name, data)
    assert stored_count() == 0 and files_on_disk() == []
    assert uploads_upstream(provider) == []
    assert conversations.get_conversation(alice, chat_id).vector_store_id is None


async def test_failed_indexing_leaves_no_orphan(alice: User, provider: SimulatorServer) -> None:
    chat_id = chat_with(alice)
    before = set(provider.files)
    added = await attachments.add(alice, chat_id, "broken.txt", b"x " + INDEXING_FAIL_MARKER)
    with pytest.raises(ServiceError, match="broken.txt could not be indexed"):
        await attachments.wait_until_ready(alice, added.id)
    assert stored_count() == 0 and files_on_disk() == []
    assert set(provider.files) == before  # deleted upstream too
    assert not [f for _, f in provider.vector_store_files if f not in provider.files]


async def test_failed_upload_leaves_no_orphan(alice: User, provider: SimulatorServer) -> None:
    chat_id = chat_with(alice)
    with pytest.raises(ServiceError, match="notes.txt could not be uploaded"):
        await attachments.add(
            alice,
            chat_id,
            "notes.txt",
            b"hello",
            settings=get_settings().model_copy(  # nothing listens there
                update={"openai_base_url": "http://127.0.0.1:9/v1", "llm_max_retries": 0}
            ),
        )
    assert stored_count() == 0 and files_on_disk() == []


async def test_remove_takes_it_out_here_and_upstream(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice)
    added = await attachments.wait_until_ready(
        alice, (await attachments.add(alice, chat_id, "notes.txt", b"some notes")).id
    )
    provider_id = row(added.id).provider_file_id
    await attachments.remove(alice, added.id)
    assert row(added.id) is None and files_on_disk() == []
    assert provider_id not in provider.files
    assert provider_id not in {f for _, f in provider.vector_store_files}


async def test_only_my_unsent_ready_attachments_can_be_sent(
    alice: User, provider: SimulatorServer
) -> None:
    bob = make_user("bob")
    bobs = await attachments.add(bob, chat_with(bob), "bob.png", png_bytes())
    chat_id = chat_with(alice)
    with pytest.raises(NotFound):
        await chat.send(alice, chat_id, "steal", [bobs.id])
    with pytest.raises(NotFound):
        await attachments.remove(alice, bobs.id)
    mine = await attachments.add(alice, chat_id, "me.png", png_bytes())
    await finished(await chat.send(alice, chat_id, "first", [mine.id]))
    with pytest.raises(ValidationError, match="already sent"):
        await chat.send(alice, chat_id, "again", [mine.id])
    with pytest.raises(ValidationError, match="already sent"):
        await attachments.remove(alice, mine.id)
    assert row(bobs.id).message_id is None


# ---------------------------------------------------------------- images out and export


async def test_generated_image_is_fetched_kept_linked_and_exported(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice, tools=["code_interpreter"])
    image = await attachments.add(alice, chat_id, "input.png", png_bytes())
    reply = await finished(await chat.send(alice, chat_id, "Plot it", [image.id]))
    assert reply.status == MessageStatus.complete
    fetched = [r["path"] for r in provider.requests if r["path"].startswith("/v1/containers")]
    assert fetched == ["/v1/containers/cntr_sim/files/cfile_sim_chart/content"]
    [generated] = reply.tool_calls["generated_files"]
    stored = row(generated["stored_file_id"])
    assert stored.purpose == FilePurpose.generated and stored.mime == "image/png"
    assert stored.message_id == reply.id and stored.conversation_id == chat_id
    with Image.open(file_paths.stored_path(stored)) as picture:
        assert picture.size == (64, 64)
    [citation] = [c for c in reply.citations if c["kind"] == "container_file"]
    assert citation["stored_file_id"] == stored.id
    gallery = file_store.conversation_images(alice, chat_id)
    assert {g.id for g in gallery} == {image.id, stored.id}

    markdown = export.export_markdown(alice, chat_id)
    assert "input.png" in markdown and "chart.png" in markdown and "Plot it" in markdown
    data = export.export_json(alice, chat_id)
    question, answer = data["messages"]
    assert "input.png" in str(question["attachments"])
    assert "chart.png" in str(answer["attachments"])
    assert answer["input_tokens"] == reply.input_tokens and answer["cost_micros"] > 0


async def test_an_upload_cut_short_shows_failed_and_can_be_removed(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice)
    stuck = file_store.store_attachment(alice, b"half a file", "notes.txt", chat_id)
    [shown] = attachments.pending(alice, chat_id)
    assert shown.status == FileStatus.failed and "did not finish" in shown.error
    await attachments.remove(alice, stuck.id)
    assert attachments.pending(alice, chat_id) == [] and files_on_disk() == []


async def test_deleting_a_conversation_deletes_its_files_here_and_upstream(
    alice: User, provider: SimulatorServer
) -> None:
    chat_id = chat_with(alice)
    document = await attachments.add(alice, chat_id, "notes.md", b"# Otters\nThey hold hands.\n")
    document = await attachments.wait_until_ready(alice, document.id)
    image = await attachments.add(alice, chat_id, "pic.png", png_bytes())
    provider_file_id = row(document.id).provider_file_id
    with session_scope() as session:
        store_id = session.get(Conversation, chat_id).vector_store_id
    assert files_on_disk() and provider_file_id in provider.files

    await asyncio.to_thread(conversations.delete_conversation, alice, chat_id)

    assert row(document.id) is None and row(image.id) is None
    assert files_on_disk() == []
    assert provider_file_id not in provider.files
    assert store_id not in provider.vector_stores


# ---------------------------------------------------------------- providers without Files


def pdf_with_text(*lines: str) -> bytes:
    """A small valid PDF whose pages each show one line of Helvetica text."""
    font = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for line in lines:
        stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET"
        page = len(objects) + 1
        kids.append(f"{page} 0 R")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {font} "
            f"/Contents {page + 1} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return bytes(out + trailer.encode())


@pytest.fixture
def no_files_api(provider: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """Chat Completions mode: LLM_FILES=auto resolves to none, as for Ollama or vLLM."""
    monkeypatch.setenv("LLM_API", "chat_completions")
    get_settings.cache_clear()
    return provider


def last_chat_body(sim: SimulatorServer) -> dict:
    return [r for r in sim.requests if r["path"] == "/v1/chat/completions"][-1]["body"]


def files_api_calls(sim: SimulatorServer) -> list[dict]:
    return [r for r in sim.requests if r["path"].startswith(("/v1/files", "/v1/vector_stores"))]


async def test_documents_are_read_here_and_sent_as_text_without_a_files_api(
    alice: User, no_files_api: SimulatorServer
) -> None:
    chat_id = chat_with(alice)
    notes = await attachments.add(alice, chat_id, "notes.md", b"# Otters\nThey hold hands.\n")
    table = await attachments.add(alice, chat_id, "counts.csv", b"animal,count\notter,3\n")
    paper = await attachments.add(
        alice, chat_id, "paper.pdf", pdf_with_text("Otters sleep afloat.", "Page two.")
    )
    code = await attachments.add(alice, chat_id, "tool.py", b"print('otter')\n")
    data = await attachments.add(alice, chat_id, "facts.json", b'{"otters": 13}')
    image = await attachments.add(alice, chat_id, "photo.png", png_bytes())
    added = [notes, table, paper, code, data, image]
    assert all(a.status == FileStatus.ready for a in added)  # nothing to wait for
    assert await attachments.wait_until_ready(alice, paper.id) == paper

    ids = [a.id for a in added]
    reply = await finished(await chat.send(alice, chat_id, "Tell me about otters.", ids))
    assert reply.status == MessageStatus.complete
    assert files_api_calls(no_files_api) == []  # not one request to /v1/files
    parts = last_chat_body(no_files_api)["messages"][-1]["content"]
    text = parts[0]["text"]
    assert text.startswith("Tell me about otters.\n\n")
    assert '<document name="notes.md">\n# Otters\nThey hold hands.\n\n</document>' in text
    assert '<document name="counts.csv">\nanimal,count\notter,3\n\n</document>' in text
    assert '<document name="paper.pdf">\nOtters sleep afloat.\n\nPage two.\n</document>' in text
    assert "print('otter')" in text and '{"otters": 13}' in text
    assert parts[1]["type"] == "image_url"  # images still go as vision parts
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert [p["type"] for p in parts] == ["text", "image_url"]  # no file parts

    # Later turns keep the documents in context (they are part of their message).
    await finished(await chat.send(alice, chat_id, "And their counts?", []))
    history = last_chat_body(no_files_api)["messages"]
    assert any("otter,3" in str(m["content"]) for m in history[:-1])


async def test_local_documents_over_the_limit_or_unreadable_are_refused_leaving_nothing(
    alice: User, no_files_api: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_DOCUMENT_MAX_CHARS", "1000")
    get_settings.cache_clear()
    chat_id = chat_with(alice)
    with pytest.raises(ValidationError, match="long.txt has 1,001 characters of text") as caught:
        await attachments.add(alice, chat_id, "long.txt", b"a" * 1001)
    assert "up to 1,000 characters each" in str(caught.value)
    assert (await attachments.add(alice, chat_id, "fits.txt", b"a" * 1000)).status == "ready"
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ValidationError, match="report.docx cannot be read with this provider"):
        await attachments.add(alice, chat_id, "report.docx", docx.getvalue())
    with pytest.raises(ValidationError, match="scan.pdf has no text to read"):
        await attachments.add(alice, chat_id, "scan.pdf", pdf_with_text(""))
    with pytest.raises(ValidationError, match="broken.pdf could not be read as a PDF"):
        await attachments.add(alice, chat_id, "broken.pdf", PDF)
    assert stored_count() == 1 and len(files_on_disk()) == 1
    assert files_api_calls(no_files_api) == []


async def test_documents_indexed_before_a_switch_to_a_server_without_files_are_read_here(
    alice: User, provider: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = chat_with(alice)
    added = await attachments.add(alice, chat_id, "notes.md", b"# Otters\nThey hold hands.\n")
    await attachments.wait_until_ready(alice, added.id)
    assert row(added.id).provider_file_id  # uploaded and indexed (Responses, LLM_FILES=auto)

    monkeypatch.setenv("LLM_API", "chat_completions")  # now LLM_FILES=auto means none
    get_settings.cache_clear()
    reply = await finished(await chat.send(alice, chat_id, "What do otters do?", [added.id]))
    assert reply.status == MessageStatus.complete
    content = last_chat_body(provider)["messages"][-1]["content"]
    assert content.startswith("What do otters do?\n\n")
    assert '<document name="notes.md">\n# Otters\nThey hold hands.\n\n</document>' in content
