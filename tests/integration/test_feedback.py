"""Feedback on answers (issue 14): rating, access, satisfaction and CSV, on SQLite and MariaDB."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import AnswerFeedback, ConversationMessage, MessageRole, MessageStatus, User
from services.chat import conversations, feedback
from tests.factories import add_assistant, add_conversation, make_user


@pytest.fixture
def admin(database: str) -> User:
    return make_user("root")  # the first account is the admin


@pytest.fixture
def owner(admin: User) -> User:
    return make_user("olga")


@pytest.fixture
def bob(owner: User) -> User:
    return make_user("bob")


def answer(conversation_id: int, status: MessageStatus = MessageStatus.complete) -> int:
    """A question and its answer in the conversation; the answer's id."""
    with session_scope() as session:
        session.add(ConversationMessage(conversation_id=conversation_id, role=MessageRole.user,
                                        content="q"))  # fmt: skip
        reply = ConversationMessage(
            conversation_id=conversation_id, role=MessageRole.assistant, content="a", status=status
        )
        session.add(reply)
        session.flush()
        return reply.id


def test_rating_is_one_per_user_and_answer_and_changeable(owner: User, bob: User) -> None:
    shared = add_assistant(owner, "Shared helper", shared=True)
    conversation = add_conversation(bob, shared)
    message = answer(conversation)
    first = feedback.rate_answer(bob, message, feedback.UP)
    assert (first.rating, first.comment, first.assistant_id) == (1, None, shared.id)
    changed = feedback.rate_answer(bob, message, feedback.DOWN, "  Wrong year.  ")
    assert changed.id == first.id
    assert (changed.rating, changed.comment) == (-1, "Wrong year.")
    with session_scope() as session:
        assert len(session.exec(select(AnswerFeedback)).all()) == 1
    assert feedback.conversation_feedback(bob, conversation)[message].rating == -1
    feedback.clear_rating(bob, message)
    assert feedback.conversation_feedback(bob, conversation) == {}


def test_only_who_sees_the_conversation_rates_it(owner: User, bob: User) -> None:
    shared = add_assistant(owner, "Shared helper", shared=True)
    message = answer(add_conversation(bob, shared))
    # Not even the assistant's owner or an admin sees bob's conversation, so neither rates it.
    with pytest.raises(NotFound):
        feedback.rate_answer(owner, message, feedback.UP)
    with pytest.raises(NotFound):
        feedback.clear_rating(owner, message)
    with pytest.raises(NotFound):
        feedback.conversation_feedback(owner, add_conversation(bob, shared))
    with pytest.raises(NotFound):
        feedback.rate_answer(bob, 999_999, feedback.UP)


def test_bad_ratings_are_refused_with_a_message(owner: User) -> None:
    conversation = add_conversation(owner, add_assistant(owner))
    message = answer(conversation)
    with pytest.raises(ValidationError, match="thumbs"):
        feedback.rate_answer(owner, message, 5)
    with pytest.raises(ValidationError, match="at most"):
        feedback.rate_answer(owner, message, feedback.UP, "x" * (feedback.MAX_COMMENT_CHARS + 1))
    with pytest.raises(ValidationError, match="finished answer"):
        feedback.rate_answer(owner, answer(conversation, MessageStatus.streaming), feedback.UP)
    with session_scope() as session:
        question = session.exec(
            select(ConversationMessage).where(ConversationMessage.role == MessageRole.user)
        ).first()
    with pytest.raises(ValidationError, match="finished answer"):
        feedback.rate_answer(owner, question.id, feedback.UP)


def test_owner_sees_ratings_comments_and_satisfaction(owner: User, bob: User, admin: User) -> None:
    shared = add_assistant(owner, "Shared helper", shared=True)
    bobs = add_conversation(bob, shared)
    feedback.rate_answer(bob, answer(bobs), feedback.UP, "Spot on")
    feedback.rate_answer(bob, answer(bobs), feedback.UP)
    feedback.rate_answer(bob, answer(bobs), feedback.DOWN, "Too long")
    feedback.rate_answer(owner, answer(add_conversation(owner, shared)), feedback.UP)
    seen = feedback.assistant_feedback(owner, shared.id)
    assert (seen.satisfaction.up, seen.satisfaction.down, seen.satisfaction.percent) == (3, 1, 75.0)
    assert sorted(entry.comment or "" for entry in seen.entries) == ["", "", "Spot on", "Too long"]
    assert feedback.assistant_feedback(admin, shared.id).satisfaction.total == 4
    with pytest.raises(PermissionDenied):
        feedback.assistant_feedback(bob, shared.id)  # bob uses it but does not own it
    with pytest.raises(NotFound):
        feedback.assistant_feedback(owner, 999_999)
    empty = feedback.assistant_feedback(owner, add_assistant(owner, "Unrated").id)
    assert (empty.satisfaction.total, empty.satisfaction.percent, empty.entries) == (0, None, [])


def test_admin_sees_satisfaction_per_assistant_as_csv(owner: User, bob: User, admin: User) -> None:
    good = add_assistant(owner, "=HYPERLINK(evil)", shared=True)
    meh = add_assistant(bob, "Meh")
    feedback.rate_answer(bob, answer(add_conversation(bob, good)), feedback.UP, "nice")
    feedback.rate_answer(bob, answer(add_conversation(bob, meh)), feedback.DOWN)
    feedback.rate_answer(bob, answer(add_conversation(bob, meh)), feedback.UP)
    rows = feedback.satisfaction_by_assistant(admin)
    assert [(row.name, row.owner, row.satisfaction.percent, row.comments) for row in rows] == [
        ("Meh", "bob", 50.0, 0),
        ("=HYPERLINK(evil)", "olga", 100.0, 1),
    ]
    table = list(csv.DictReader(io.StringIO(feedback.satisfaction_csv(admin))))
    assert table[1]["assistant"] == "'=HYPERLINK(evil)"  # not a formula in a spreadsheet
    assert (table[0]["up"], table[0]["down"], table[0]["satisfaction_percent"]) == (
        "1",
        "1",
        "50.0",
    )
    with pytest.raises(PermissionDenied):
        feedback.satisfaction_by_assistant(owner)
    with pytest.raises(PermissionDenied):
        feedback.satisfaction_csv(bob)


def test_deleting_a_conversation_deletes_its_feedback(owner: User) -> None:
    assistant = add_assistant(owner)
    conversation = add_conversation(owner, assistant)
    feedback.rate_answer(owner, answer(conversation), feedback.DOWN, "meh")
    conversations.delete_conversation(owner, conversation)
    assert feedback.assistant_feedback(owner, assistant.id).satisfaction.total == 0
