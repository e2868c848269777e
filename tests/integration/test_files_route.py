"""Stored files: who may read them (SQLite and MariaDB) and the authenticated `/files` route."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from nicegui import app as nicegui_app
from nicegui.testing import User as UserSimulation
from PIL import Image
from sqlmodel import func, select

from app.files_route import content_disposition
from core.config import get_settings
from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import FilePurpose, Role, StoredFile, User
from services.accounts import api_keys
from services.accounts import users as accounts
from services.assistants.manage import AssistantInput, create_assistant, update_assistant
from services.chat.conversations import create_conversation
from services.files import paths as file_paths
from services.files import store as file_store
from tests.factories import make_user
from tests.ui.test_auth_pages import register

HTML_PAGE = b"<html><body><script>alert(document.cookie)</script></body></html>"


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def conversation_of(user: User, shared: bool = False) -> tuple[int, int]:
    assistant = create_assistant(user, AssistantInput(name=f"{user.username} bot", shared=shared))
    return assistant.id, create_conversation(user, assistant.id).id


def stored_rows() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(StoredFile)).one()


def files_on_disk() -> list[str]:
    root = file_paths.files_root()
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def people(database: str) -> tuple[User, User, User]:
    """An admin (first user) and two members."""
    admin = make_user("root")
    alice = make_user("alice")
    bob = make_user("bob")
    assert admin.role == Role.admin
    return admin, alice, bob


# ---------------------------------------------------------------- services


def test_image_is_stored_under_an_unguessable_id(people: tuple[User, User, User]) -> None:
    _, alice, _ = people
    _, conversation_id = conversation_of(alice)
    row = file_store.store_image(
        alice, png_bytes(), "../../etc/holiday\u202egnp.exe.gif", conversation_id=conversation_id
    )
    assert len(row.id) == 32 and row.mime == "image/png" and (row.width, row.height) == (64, 48)
    assert row.name == "holidaygnp.exe.png"  # no path, no RTL override, real extension
    path = file_paths.stored_path(row)
    assert path is not None and path.name == row.id and path.read_bytes()[:4] == b"\x89PNG"
    assert path.is_relative_to(get_settings().data_dir / "files")
    thumb = file_paths.stored_path(row, thumbnail=True)
    assert thumb is not None and thumb.read_bytes()[8:12] == b"WEBP"
    assert "holiday" not in "".join(files_on_disk())
    assert [r.id for r in file_store.conversation_images(alice, conversation_id)] == [row.id]


def test_conversation_files_are_visible_to_its_owner_only(
    people: tuple[User, User, User],
) -> None:
    admin, alice, bob = people
    _, conversation_id = conversation_of(alice)
    row = file_store.store_image(alice, png_bytes(), "a.png", conversation_id=conversation_id)
    assert file_store.get_file_for_user(alice, row.id).id == row.id
    for other in (bob, admin):  # conversations are private, even to admins
        with pytest.raises(NotFound) as caught:
            file_store.get_file_for_user(other, row.id)
        assert str(caught.value) == "File not found"
    with pytest.raises(NotFound):
        file_store.conversation_images(bob, conversation_id)


@pytest.mark.parametrize("file_id", ["0" * 32, "../../studio.db", "", "A" * 32, "0" * 33])
def test_unknown_and_malformed_ids_are_not_found(
    people: tuple[User, User, User], file_id: str
) -> None:
    with pytest.raises(NotFound) as caught:
        file_store.get_file_for_user(people[1], file_id)
    assert str(caught.value) == "File not found"


def test_assistant_files_follow_the_assistant_visibility(people: tuple[User, User, User]) -> None:
    admin, alice, bob = people
    assistant_id, _ = conversation_of(alice)
    row = file_store.store_file(
        alice, b"notes", "notes.txt", "text/plain", FilePurpose.knowledge, assistant_id=assistant_id
    )
    assert file_store.get_file_for_user(admin, row.id).id == row.id
    with pytest.raises(NotFound):
        file_store.get_file_for_user(bob, row.id)
    update_assistant(alice, assistant_id, AssistantInput(name="alice bot", shared=True))
    assert file_store.get_file_for_user(bob, row.id).id == row.id


def test_storing_into_someone_elses_conversation_leaves_nothing(
    people: tuple[User, User, User],
) -> None:
    _, alice, bob = people
    _, conversation_id = conversation_of(alice)
    with pytest.raises(NotFound):
        file_store.store_image(bob, png_bytes(), "x.png", conversation_id=conversation_id)
    assert stored_rows() == 0 and files_on_disk() == []


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"not an image at all", "fake.png", "not a supported image"),
        (b"", "empty.png", "empty"),
    ],
)
def test_refused_images_leave_nothing(
    people: tuple[User, User, User], data: bytes, name: str, message: str
) -> None:
    _, alice, _ = people
    _, conversation_id = conversation_of(alice)
    with pytest.raises(ValidationError, match=message):
        file_store.store_image(alice, data, name, conversation_id=conversation_id)
    assert stored_rows() == 0 and files_on_disk() == []


def test_wrong_type_attachment_is_refused_and_documents_are_kept(
    people: tuple[User, User, User],
) -> None:
    _, alice, _ = people
    _, conversation_id = conversation_of(alice)
    with pytest.raises(ValidationError, match="not supported"):
        file_store.store_attachment(alice, b"MZ\x90\x00binary", "tool.exe", conversation_id)
    assert stored_rows() == 0 and files_on_disk() == []
    row = file_store.store_attachment(alice, HTML_PAGE, "page.html", conversation_id)
    assert row.mime == "text/html" and row.purpose == FilePurpose.attachment
    assert file_paths.stored_path(row).read_bytes() == HTML_PAGE


def test_delete_removes_row_and_bytes(people: tuple[User, User, User]) -> None:
    _, alice, bob = people
    _, conversation_id = conversation_of(alice)
    row = file_store.store_image(alice, png_bytes(), "a.png", conversation_id=conversation_id)
    with pytest.raises(NotFound):
        file_store.delete_file(bob, row.id)
    file_store.delete_file(alice, row.id)
    assert stored_rows() == 0 and files_on_disk() == []


def test_tampered_storage_path_is_never_followed(people: tuple[User, User, User]) -> None:
    _, alice, _ = people
    row = file_store.store_file(alice, b"x", "x.txt", "text/plain", FilePurpose.attachment)
    (get_settings().data_dir / "secret.txt").write_text("secret")
    row.storage_path = "files/../secret.txt"
    assert file_paths.stored_path(row) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            "../../etc/pass\x00wd",
            "attachment; filename=\"passwd\"; filename*=UTF-8''passwd",
        ),
        (
            "invoice\u202efdp.exe",
            "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe",
        ),
        (
            'a"b;c\r\nSet-Cookie: x=1.txt',
            'attachment; filename="a_b_cSet-Cookie_ x_1.txt"; '
            "filename*=UTF-8''a%22b%3BcSet-Cookie%3A%20x%3D1.txt",
        ),
        (
            "résumé.txt",
            "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
        ),
        ("...", "attachment; filename=\"file\"; filename*=UTF-8''file"),
    ],
)
def test_content_disposition_is_safe(name: str, expected: str) -> None:
    assert content_disposition("attachment", name) == expected


# ---------------------------------------------------------------- HTTP


def page_text(response: httpx.Response) -> str:
    """The response body without the per-render element ids."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "", response.text)


def load_user(name: str) -> User:
    with session_scope() as session:
        return session.exec(select(User).where(User.username == name)).one()


async def test_files_route_serves_only_what_the_requester_may_see(
    database: str, user: UserSimulation
) -> None:
    await register(user, "alice")
    await user.should_see("Welcome, alice", retries=20)
    alice = load_user("alice")  # the first account: an admin, still no access to bob's chats
    bob = make_user("bob")
    _, alice_chat = conversation_of(alice)
    _, bob_chat = conversation_of(bob)
    image = file_store.store_image(alice, png_bytes(), "photo.png", conversation_id=alice_chat)
    page = file_store.store_attachment(alice, HTML_PAGE, "page.html", alice_chat)
    bobs = file_store.store_image(bob, png_bytes(), "bob.png", conversation_id=bob_chat)
    client = user.http_client

    response = await client.get(f"/files/{image.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"  # nothing cached after sign-out
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.content == file_paths.stored_path(image).read_bytes()

    thumb = await client.get(f"/files/{image.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"

    html = await client.get(f"/files/{page.id}")
    assert html.status_code == 200 and html.content == HTML_PAGE
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith('attachment; filename="page.html"')
    assert html.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in html.headers["content-security-policy"]

    unknown = await client.get("/files/" + "0" * 32)
    for path in (f"/files/{bobs.id}", f"/files/{bobs.id}/thumbnail", f"/files/{page.id}/thumbnail"):
        foreign = await client.get(path)
        assert foreign.status_code == 404, path
        # Never tells "exists" from "missing": the same page as any unknown URL.
        assert page_text(foreign) == page_text(unknown)
    assert unknown.status_code == 404
    assert (await client.get("/files/..%2F..%2Fstudio.db")).status_code == 404

    # An API client without a session cookie: Bearer works, nothing else does.
    transport = httpx.ASGITransport(nicegui_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        token = accounts.session_token(bob)
        mine = await api.get(f"/files/{bobs.id}", headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
        theirs = await api.get(f"/files/{image.id}", headers={"Authorization": f"Bearer {token}"})
        assert theirs.status_code == 404
        forged = await api.get(f"/files/{bobs.id}", headers={"Authorization": "Bearer nope"})
        assert forged.status_code == 404
        anonymous = await api.get(f"/files/{bobs.id}")
        assert anonymous.status_code == 307 and anonymous.headers["location"].startswith("/login")
        accounts.revoke_sessions(bob.id)
        revoked = await api.get(f"/files/{bobs.id}", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 404
        with session_scope() as session:
            bob = session.get(User, bob.id)  # signed in again after "log out everywhere"
        key = api_keys.create_key(bob, "downloads", "read")  # a personal API key works too
        by_key = {"Authorization": f"Bearer {key.secret}"}
        assert (await api.get(f"/files/{bobs.id}", headers=by_key)).status_code == 200
        assert (await api.get(f"/files/{image.id}", headers=by_key)).status_code == 404
        api_keys.revoke_key(bob, key.info.id)
        assert (await api.get(f"/files/{bobs.id}", headers=by_key)).status_code == 404
