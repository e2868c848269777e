"""Composer attachments, the gallery and export through NiceGUI's simulated user (simulator)."""

from __future__ import annotations

import io

import orjson
import pytest
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.events import GenericEventArguments
from nicegui.testing import User
from PIL import Image
from sqlmodel import func, select

from components.chat_attachments import ChatAttachments
from core.config import get_settings
from core.db import session_scope
from models import StoredFile
from models import User as Account
from services.assistants.manage import AssistantInput, create_assistant
from simulator.server import SimulatorServer
from tests.simulator_fixtures import TEXT_ONLY
from tests.ui.helpers import signed_up

pytestmark = pytest.mark.usefixtures("llm_env", "text_only_catalog")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 160, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


async def open_chat(
    user: User, model: str = "gpt-4.1-mini", tools: list[str] | None = None
) -> None:
    await signed_up(user, "alice")
    with session_scope() as session:
        alice = session.exec(select(Account).where(Account.username == "alice")).one()
    assistant = create_assistant(
        alice, AssistantInput(name="Otter helper", model=model, tools=tools or [])
    )
    await user.open(f"/chat/new?assistant={assistant.id}")
    await user.should_see("Say hello to Otter helper", retries=20)


def attachments_of(user: User) -> ChatAttachments:
    upload = user.find(kind=ui.upload).elements.pop()
    return upload._upload_handlers[0].__self__  # the component that owns the hidden uploader


async def drop(user: User, name: str, data: bytes, mime: str = "") -> None:
    """What the browser's XHR does: the file arrives at the composer's upload endpoint."""
    await (
        user.find(kind=ui.upload).elements.pop().handle_uploads([SmallFileUpload(name, mime, data)])
    )


def stored_files() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(StoredFile)).one()


def send_button(user: User) -> ui.button:
    return user.find(kind=ui.button, content="Send").elements.pop()


async def test_attach_preview_remove_and_send(user: User, llm_env: SimulatorServer) -> None:
    await open_chat(user)
    await drop(user, "notes.md", b"# Otters\nThey hold hands.\n")
    await drop(user, "photo.png", png_bytes())
    await user.should_see(marker="attachment-notes.md", retries=30)
    await user.should_see("26 B · ready", retries=50)  # uploaded and indexed upstream
    await user.should_see(marker="attachment-photo.png", retries=30)
    await user.should_see(marker="thumbnail-photo.png", retries=30)
    user.find(marker="remove-notes.md").click()
    await user.should_not_see(marker="attachment-notes.md", retries=30)
    assert stored_files() == 1  # the removed one is gone here (and upstream)

    user.find("Message").type("What is this?")
    user.find(kind=ui.button, content="Send").click()
    await user.should_see("tokens ·", retries=50)
    await user.should_not_see(marker="attachment-photo.png")  # the composer is empty again
    await user.should_see(marker="sent-photo.png")  # its thumbnail, in the sent message
    body = [r for r in llm_env.requests if r["path"] == "/v1/responses"][-1]["body"]
    kinds = [part["type"] for part in body["input"][-1]["content"]]
    assert kinds == ["input_text", "input_image"]


async def test_send_waits_until_every_attachment_is_ready(user: User) -> None:
    await open_chat(user)
    attachments = attachments_of(user)
    start = {"kind": "start", "key": "local-abc", "name": "big.pdf", "size": 5_000_000}
    attachments._browser_event(GenericEventArguments(sender=None, client=None, args=start))
    await user.should_see("uploading 0%", retries=20)
    assert not send_button(user).enabled
    progress = {"kind": "progress", "key": "local-abc", "done": 0.42}
    attachments._browser_event(GenericEventArguments(sender=None, client=None, args=progress))
    await user.should_see("uploading 42%", retries=20)
    failed = {"kind": "failed", "key": "local-abc"}
    attachments._browser_event(GenericEventArguments(sender=None, client=None, args=failed))
    await user.should_see("the upload was interrupted", retries=20)
    assert send_button(user).enabled  # a refused file does not block the message


async def test_wrong_type_and_oversize_are_refused_with_a_reason(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_FILE_MB", "1")
    get_settings.cache_clear()
    await open_chat(user)
    await drop(user, "tool.exe", b"MZ\x90\x00" + bytes(300))
    await user.should_see("tool.exe: this file type is not supported", retries=30)
    await drop(user, "huge.txt", b"a" * (1024 * 1024 + 10))
    await user.should_see("huge.txt is larger than the 1 MB limit per file.", retries=30)
    assert stored_files() == 0
    user.find(marker="remove-tool.exe").click()
    await user.should_not_see("tool.exe", retries=20)


async def test_image_button_is_disabled_for_a_model_without_vision(user: User) -> None:
    await open_chat(user, model=TEXT_ONLY)
    assert not user.find(marker="attach-image").elements.pop().enabled
    await user.should_see(f"{TEXT_ONLY} cannot see images", retries=20)  # the tooltip
    assert user.find(marker="attach-files").elements.pop().enabled
    await drop(user, "photo.png", png_bytes())
    await user.should_see(marker="attachment-photo.png", retries=30)
    assert stored_files() == 0


async def test_gallery_lightbox_and_export(user: User) -> None:
    await open_chat(user, tools=["code_interpreter"])
    await drop(user, "photo.png", png_bytes())
    await user.should_see("· ready", retries=50)
    user.find("Message").type("Plot this")
    user.find(kind=ui.button, content="Send").click()
    await user.should_see("tokens ·", retries=50)
    await user.should_see("chart.png", retries=20)  # the generated image, kept and cited

    user.find(kind=ui.button, content="Gallery").click()
    await user.should_see(marker="gallery-chart.png", retries=30)
    user.find(marker="gallery-photo.png").click()
    await user.should_see("photo.png · 1 of 2", retries=20)
    user.find(kind=ui.button, content="Next").click()
    await user.should_see("chart.png · 2 of 2", retries=20)
    await user.should_see("Download")

    user.find(kind=ui.button, content="Export Markdown").click()
    markdown = (await user.download.next(timeout=5)).text
    assert "Plot this" in markdown and "photo.png" in markdown and "chart.png" in markdown
    user.find(kind=ui.button, content="Export JSON").click()
    data = orjson.loads((await user.download.next(timeout=5)).content)
    assert data["messages"][0]["attachments"] == ["photo.png"]
    assert data["messages"][1]["cost_micros"] > 0
