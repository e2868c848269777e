"""Share links on SQLite and MariaDB: snapshot, who may open, public setting, files, revoke,
continue as a copy."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import Conversation, ConversationMessage, MessageRole, ShareLink, User
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import shares
from services.chat.conversations import create_conversation, load_thread
from services.files import store as file_store
from tests.factories import make_user


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def chat(database: str) -> dict:
    """Admin alice's conversation (a question with an image, a cited answer); member bob."""
    alice = make_user("alice")  # the first account: admin
    bob = make_user("bob")
    assistant = create_assistant(alice, AssistantInput(name="Travel helper", model="gpt-4.1-mini"))
    conversation_id = create_conversation(alice, assistant.id).id
    image = file_store.store_image(alice, png_bytes(), "map.png", conversation_id=conversation_id)
    other = file_store.store_image(alice, png_bytes(), "private.png")
    with session_scope() as session:
        question = ConversationMessage(
            conversation_id=conversation_id,
            role=MessageRole.user,
            content="Plan two days in Lisbon.",
            attachments=[{"id": image.id, "name": "map.png", "mime": "image/png"}],
        )
        session.add(question)
        session.flush()
        answer = ConversationMessage(
            conversation_id=conversation_id,
            parent_id=question.id,
            role=MessageRole.assistant,
            # A crafted answer naming a file of another conversation: not served.
            content=f"Day 1: **Alfama**. ![x](/files/{other.id})",
            citations=[{"kind": "url", "title": "Visit", "url": "https://visitlisboa.com"}],
            cost_micros=1234,
        )
        # A sibling answer on another branch (regenerated): not in the snapshot.
        other_branch = ConversationMessage(
            conversation_id=conversation_id,
            parent_id=question.id,
            role=MessageRole.assistant,
            content="An older answer on another branch.",
        )
        session.add_all([other_branch, answer])
        session.flush()
        conversation = session.get(Conversation, conversation_id)
        conversation.title = "Lisbon"
        conversation.active_message_id = answer.id
        session.add(conversation)
    return {
        "alice": alice,
        "bob": bob,
        "assistant": assistant,
        "conversation_id": conversation_id,
        "image": image,
        "other": other,
    }


def test_teammate_sees_a_snapshot_that_later_edits_do_not_change(chat: dict) -> None:
    alice, bob = chat["alice"], chat["bob"]
    created = shares.create_share(alice, chat["conversation_id"])
    with session_scope() as session:
        for message in session.exec(select(ConversationMessage)):
            message.content = "edited later"
            session.add(message)
        row = session.exec(select(ShareLink)).one()
        # Only the hash is stored; the token is nowhere in the row.
        assert row.token_hash == shares.token_hash(created.token) != created.token
        assert created.token not in repr(row.model_dump())
    view = shares.open_share(bob, created.token)
    assert [m["content"][:6] for m in view.messages] == ["Plan t", "Day 1:"]  # active branch
    assert view.title == "Lisbon" and view.owner_name == "alice" and not view.viewer_is_owner
    assert view.assistant_name == "Travel helper"
    html = shares.render_answers(view.messages, created.token)
    assert html[0] is None and "<strong>Alfama</strong>" in html[1]
    assert f"/share/{created.token}/files/{chat['other'].id}" in html[1]  # rewritten URL...
    with pytest.raises(NotFound):  # ...that still serves nothing: not a file of this chat
        shares.shared_file(bob, created.token, chat["other"].id)


def test_anonymous_refused_unless_public_links_are_on(chat: dict) -> None:
    alice, bob = chat["alice"], chat["bob"]
    team = shares.create_share(alice, chat["conversation_id"])
    with pytest.raises(NotFound):
        shares.open_share(None, team.token)
    with pytest.raises(ValidationError, match="turned off"):
        shares.create_share(alice, chat["conversation_id"], public=True)
    with pytest.raises(PermissionDenied):
        shares.set_public_links(bob, True)
    shares.set_public_links(alice, True)
    public = shares.create_share(alice, chat["conversation_id"], public=True)
    assert shares.may_open_anonymously(public.token)
    assert shares.open_share(None, public.token).public
    assert shares.shared_file(None, public.token, chat["image"].id).id == chat["image"].id
    with pytest.raises(NotFound):  # a teammates-only link stays closed to anonymous visitors
        shares.open_share(None, team.token)
    shares.set_public_links(alice, False)  # stops existing public links at once
    assert not shares.may_open_anonymously(public.token)
    for call in (
        lambda: shares.open_share(None, public.token),
        lambda: shares.shared_file(None, public.token, chat["image"].id),
    ):
        with pytest.raises(NotFound):
            call()
    assert shares.open_share(bob, public.token).title == "Lisbon"  # teammates still can


def test_revoke_stops_page_and_files(chat: dict) -> None:
    alice, bob = chat["alice"], chat["bob"]
    created = shares.create_share(alice, chat["conversation_id"])
    assert shares.shared_file(bob, created.token, chat["image"].id).name == "map.png"
    assert [item.title for item in shares.list_shares(alice)] == ["Lisbon"]
    assert shares.list_shares(bob) == []
    with pytest.raises(NotFound):  # only the owner revokes
        shares.revoke_share(bob, created.id)
    shares.revoke_share(alice, created.id)
    assert shares.list_shares(alice) == []
    with pytest.raises(NotFound):
        shares.open_share(bob, created.token)
    with pytest.raises(NotFound):
        shares.shared_file(bob, created.token, chat["image"].id)


def test_unknown_or_malformed_tokens_are_not_found(chat: dict) -> None:
    for token in ("", "short", "x" * 43, "../../etc/passwd", None):
        with pytest.raises(NotFound):
            shares.open_share(chat["bob"], token)  # type: ignore[arg-type]


def test_continue_as_copy_with_an_assistant_the_viewer_may_use(chat: dict) -> None:
    alice, bob = chat["alice"], chat["bob"]
    created = shares.create_share(alice, chat["conversation_id"])
    options, preselect = shares.copy_assistants(bob, created.token)
    assert options == [] and preselect is None  # alice's assistant is not shared with bob
    with pytest.raises(NotFound):
        shares.continue_as_copy(bob, created.token, chat["assistant"].id)
    own = create_assistant(bob, AssistantInput(name="Bob's helper", model="gpt-4.1-mini"))
    options, preselect = shares.copy_assistants(bob, created.token)
    assert options == [(own.id, "Bob's helper")] and preselect == own.id
    copy = shares.continue_as_copy(bob, created.token, own.id)
    with session_scope() as session:
        conversation, assistant, messages = load_thread(session, bob, copy.id)
        assert conversation.owner_id == bob.id and assistant.id == own.id
        assert conversation.title == "Lisbon" and conversation.message_count == 2
        assert [m.role for m in messages] == [MessageRole.user, MessageRole.assistant]
        assert messages[0].parent_id is None and messages[1].parent_id == messages[0].id
        assert conversation.active_message_id == messages[1].id
        assert messages[1].content.startswith("Day 1")
        assert messages[1].cost_micros is None and messages[1].attachments == []
        assert messages[1].citations == [
            {"kind": "url", "title": "Visit", "url": "https://visitlisboa.com"}
        ]
    with pytest.raises(NotFound), session_scope() as session:  # the copy is bob's only
        load_thread(session, alice, copy.id)


def test_only_the_owner_shares_and_empty_chats_are_refused(chat: dict) -> None:
    with pytest.raises(NotFound):
        shares.create_share(chat["bob"], chat["conversation_id"])
    empty = create_conversation(chat["alice"], chat["assistant"].id).id
    with pytest.raises(ValidationError, match="nothing to share"):
        shares.create_share(chat["alice"], empty)


def test_tokens_are_redacted_from_log_lines(chat: dict, caplog: pytest.LogCaptureFixture) -> None:
    shares.redact_share_tokens()
    created = shares.create_share(chat["alice"], chat["conversation_id"])
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "GET %s HTTP/1.1" %d', "127.0.0.1", f"{created.path}/files/abc", 200
        )
    assert created.token not in caplog.text and "/share/…/files/abc" in caplog.text


def test_deleting_the_account_deletes_its_links(chat: dict) -> None:
    from services.accounts.profile import delete_account
    from tests.factories import PASSWORD

    bob: User = chat["bob"]
    conversation_id = create_conversation(bob, create_assistant(bob, AssistantInput("B")).id).id
    with session_scope() as session:
        session.add(
            ConversationMessage(
                conversation_id=conversation_id, role=MessageRole.user, content="hi"
            )
        )
    shares.create_share(bob, conversation_id)
    delete_account(bob, PASSWORD)
    with session_scope() as session:
        assert session.exec(select(ShareLink).where(ShareLink.owner_id == bob.id)).all() == []
