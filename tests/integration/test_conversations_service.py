"""Conversation list, search, rename, delete and access rules on SQLite and MariaDB."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import Conversation, ConversationMessage, MessageRole, User, utcnow
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations
from services.chat.search import search_conversations
from tests.factories import make_user


@pytest.fixture
def alice(database: str) -> User:
    return make_user("alice")


@pytest.fixture
def bob(alice: User) -> User:
    return make_user("bob")


def new_conversation(user: User, title: str, text: str = "", days_ago: int = 0) -> int:
    assistant = create_assistant(user, AssistantInput(name=f"{user.username}'s helper"))
    conversation = conversations.create_conversation(user, assistant.id)
    with session_scope() as session:
        stored = session.get(Conversation, conversation.id)
        stored.title = title
        stored.updated_at = utcnow() - timedelta(days=days_ago)
        session.add(stored)
        if text:
            session.add(
                ConversationMessage(conversation_id=stored.id, role=MessageRole.user, content=text)
            )
    return conversation.id


def titles(user: User, query: str) -> list[str]:
    return [hit.title for hit in search_conversations(user, query).hits]


def test_list_is_grouped_by_day_newest_first(alice: User) -> None:
    new_conversation(alice, "old", days_ago=30)
    new_conversation(alice, "last week", days_ago=4)
    new_conversation(alice, "yesterday", days_ago=1)
    new_conversation(alice, "today")
    groups = conversations.group_by_day(conversations.list_conversations(alice).items)
    assert [(name, [i.title for i in items]) for name, items in groups] == [
        ("Today", ["today"]),
        ("Yesterday", ["yesterday"]),
        ("Previous 7 days", ["last week"]),
        ("Older", ["old"]),
    ]
    assert groups[0][1][0].assistant_name == "alice's helper"


def test_search_matches_titles_and_message_text_only_of_my_own(alice: User, bob: User) -> None:
    new_conversation(alice, "Trip to Lisbon")
    new_conversation(alice, "Recipes", text="How long do I boil an OTTER-shaped pasta?")
    new_conversation(alice, "Taxes")
    new_conversation(bob, "Bob's otter notes", text="otter otter")
    assert titles(alice, "lisbon") == ["Trip to Lisbon"]
    assert titles(alice, "otter") == ["Recipes"]
    assert titles(alice, "100%_") == []


def test_rename_and_delete(alice: User) -> None:
    conversation_id = new_conversation(alice, "Draft", text="hello")
    assert conversations.rename_conversation(alice, conversation_id, "  Final  name ").title == (
        "Final name"
    )
    with pytest.raises(ValidationError):
        conversations.rename_conversation(alice, conversation_id, "   ")
    conversations.delete_conversation(alice, conversation_id)
    with pytest.raises(NotFound):
        conversations.get_conversation(alice, conversation_id)
    assert conversations.list_conversations(alice).items == []


def test_delete_clears_continuation_links(alice: User) -> None:
    first = new_conversation(alice, "Part 1")
    second = new_conversation(alice, "Part 2")
    with session_scope() as session:
        session.get(Conversation, first).continued_by_id = second
        session.get(Conversation, second).parent_id = first
    conversations.delete_conversation(alice, first)
    view = conversations.conversation_view(alice, second)
    assert view.conversation.parent_id is None and view.parent_title is None


def test_another_user_gets_not_found_everywhere(alice: User, bob: User) -> None:
    conversation_id = new_conversation(alice, "Private", text="secret plans")
    for call in (
        lambda: conversations.get_conversation(bob, conversation_id),
        lambda: conversations.conversation_view(bob, conversation_id),
        lambda: conversations.rename_conversation(bob, conversation_id, "mine"),
        lambda: conversations.delete_conversation(bob, conversation_id),
    ):
        with pytest.raises(NotFound):
            call()
    assert titles(bob, "secret") == []
    assert conversations.get_conversation(alice, conversation_id).title == "Private"


def test_cannot_start_a_conversation_with_someone_elses_private_assistant(
    alice: User, bob: User
) -> None:
    private = create_assistant(alice, AssistantInput(name="Mine only"))
    with pytest.raises(NotFound):
        conversations.create_conversation(bob, private.id)


def test_title_from_first_message() -> None:
    assert conversations.title_from("  How do I   cook rice?") == "How do I cook rice?"
    long = conversations.title_from("one two three four five six seven eight nine ten")
    assert long == "one two three four five six seven eight…"
    assert conversations.title_from("```") == "New chat"


def test_new_chat_reopens_the_untouched_one_instead_of_piling_up(alice: User, bob: User) -> None:
    """Issue 14: every New chat click saved another empty "New chat"."""
    helper = create_assistant(alice, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    other = create_assistant(alice, AssistantInput(name="Other", model="gpt-4.1-mini"))
    first = conversations.open_new_chat(alice, helper.id)
    assert conversations.open_new_chat(alice, helper.id).id == first.id  # clicked again
    assert conversations.open_new_chat(alice, other.id).id != first.id  # one per assistant
    assert conversations.open_new_chat(alice, helper.id, temporary=True).id != first.id
    with session_scope() as session:  # something was sent: it is no longer untouched
        row = session.get(Conversation, first.id)
        row.message_count = 2
        session.add(row)
    second = conversations.open_new_chat(alice, helper.id)
    assert second.id != first.id
    with pytest.raises(NotFound):  # Bob may not use Alice's private assistant
        conversations.open_new_chat(bob, helper.id)
    with session_scope() as session:
        mine = session.exec(
            select(Conversation).where(
                Conversation.owner_id == alice.id, Conversation.temporary == sa.false()
            )
        ).all()
    assert len(mine) == 3  # helper (sent), helper (new), other: no pile-up
