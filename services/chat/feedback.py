"""Feedback on answers: thumbs up or down with an optional comment, and satisfaction figures.

Who may do what:
- rating: only someone who can see the conversation (its owner: conversations are private),
  on a finished assistant answer; one rating per user and answer, changeable, removable;
- an assistant's ratings and comments: its owner and admins (`assistant_feedback`);
- satisfaction per assistant, with CSV: admins only (`satisfaction_by_assistant`).
Satisfaction is the share of thumbs up among all ratings, in percent (None without ratings).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import (
    AnswerFeedback,
    Assistant,
    ConversationMessage,
    MessageRole,
    MessageStatus,
    Role,
    User,
    utcnow,
)
from services.accounts.permissions import active_actor, require_admin
from services.chat.conversations import owned_conversation

MAX_COMMENT_CHARS = 2_000
UP, DOWN = 1, -1
# How many comments the assistant's page lists (newest first).
RECENT_LIMIT = 100
OWNER_ONLY = "Only the assistant's owner or an admin can see its feedback."


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """Counts of thumbs up and down; `percent` positive (None without ratings)."""

    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def percent(self) -> float | None:
        return round(100 * self.up / self.total, 1) if self.total else None


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One rating as the assistant's owner sees it (the rater is not named)."""

    rating: int
    comment: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AssistantFeedback:
    """An assistant's satisfaction and its latest ratings (with comments first in mind)."""

    satisfaction: Satisfaction
    entries: list[FeedbackEntry]


@dataclass(frozen=True, slots=True)
class AssistantSatisfaction:
    """One row of the admin dashboard's satisfaction table."""

    assistant_id: int
    name: str
    owner: str
    satisfaction: Satisfaction
    comments: int


def _clean(rating: int, comment: str | None) -> tuple[int, str | None]:
    if rating not in (UP, DOWN):
        raise ValidationError("A rating is thumbs up or thumbs down.")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError(f"A comment holds at most {MAX_COMMENT_CHARS:,} characters.")
    return rating, comment


def _rateable(session: Session, user: User, message_id: int) -> ConversationMessage:
    message = session.get(ConversationMessage, message_id)
    if message is None:
        raise NotFound("Message not found")
    owned_conversation(session, user, message.conversation_id)  # NotFound for others'
    if message.role != MessageRole.assistant or message.status == MessageStatus.streaming:
        raise ValidationError("Only a finished answer can be rated.")
    return message


def rate_answer(
    user: User, message_id: int, rating: int, comment: str | None = None
) -> AnswerFeedback:
    """Set (or change) the user's rating of an answer, with an optional comment."""
    rating, comment = _clean(rating, comment)
    for attempt in range(2):  # a double click can race the unique key: then update the winner
        try:
            with session_scope() as session:
                message = _rateable(session, user, message_id)
                row = _own(session, user, message_id)
                if row is None:
                    conversation = owned_conversation(session, user, message.conversation_id)
                    row = AnswerFeedback(
                        message_id=message_id,
                        user_id=user.id,
                        conversation_id=conversation.id,
                        assistant_id=conversation.assistant_id,
                        rating=rating,
                        comment=comment,
                    )
                else:
                    row.rating, row.comment, row.updated_at = rating, comment, utcnow()
                session.add(row)
                session.flush()
                session.refresh(row)
                return row
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def clear_rating(user: User, message_id: int) -> None:
    """Take back the user's rating of an answer (nothing happens when there is none)."""
    with session_scope() as session:
        _rateable(session, user, message_id)
        session.execute(
            sa.delete(AnswerFeedback).where(
                AnswerFeedback.message_id == message_id, AnswerFeedback.user_id == user.id
            )
        )


def _own(session: Session, user: User, message_id: int) -> AnswerFeedback | None:
    return session.exec(
        select(AnswerFeedback).where(
            AnswerFeedback.message_id == message_id, AnswerFeedback.user_id == user.id
        )
    ).first()


def my_feedback(session: Session, user: User, conversation_id: int) -> dict[int, AnswerFeedback]:
    """The user's ratings in one of their conversations, by message id (the page's load)."""
    owned_conversation(session, user, conversation_id)
    rows = session.exec(
        select(AnswerFeedback).where(
            AnswerFeedback.conversation_id == conversation_id, AnswerFeedback.user_id == user.id
        )
    )
    return {row.message_id: row for row in rows}


def conversation_feedback(user: User, conversation_id: int) -> dict[int, AnswerFeedback]:
    """`my_feedback` in its own transaction."""
    with session_scope() as session:
        return my_feedback(session, user, conversation_id)


def _counts(session: Session, assistant_ids: list[int] | None = None) -> dict[int, Satisfaction]:
    up = sa.func.sum(sa.case((AnswerFeedback.rating > 0, 1), else_=0))
    down = sa.func.sum(sa.case((AnswerFeedback.rating < 0, 1), else_=0))
    query = sa.select(AnswerFeedback.assistant_id, up, down).group_by(AnswerFeedback.assistant_id)
    if assistant_ids is not None:
        query = query.where(AnswerFeedback.assistant_id.in_(assistant_ids))
    return {
        row[0]: Satisfaction(int(row[1] or 0), int(row[2] or 0))
        for row in session.execute(query)
        if row[0] is not None
    }


def assistant_feedback(user: User, assistant_id: int) -> AssistantFeedback:
    """The assistant's satisfaction and latest ratings with comments: owner or admin only."""
    with session_scope() as session:
        actor = active_actor(session, user)
        assistant = session.get(Assistant, assistant_id)
        if assistant is None:
            raise NotFound("Assistant not found")
        if assistant.owner_id != actor.id and actor.role != Role.admin:
            raise PermissionDenied(OWNER_ONLY)
        satisfaction = _counts(session, [assistant_id]).get(assistant_id, Satisfaction(0, 0))
        rows = session.exec(
            select(AnswerFeedback)
            .where(AnswerFeedback.assistant_id == assistant_id)
            .order_by(AnswerFeedback.updated_at.desc(), AnswerFeedback.id.desc())
            .limit(RECENT_LIMIT)
        )
        entries = [FeedbackEntry(row.rating, row.comment, row.updated_at) for row in rows]
    return AssistantFeedback(satisfaction, entries)


def satisfaction_by_assistant(user: User) -> list[AssistantSatisfaction]:
    """Satisfaction of every rated assistant, lowest first (admins only)."""
    require_admin(user)
    with session_scope() as session:
        counts = _counts(session)
        comments = dict(
            session.execute(
                sa.select(AnswerFeedback.assistant_id, sa.func.count())
                .where(AnswerFeedback.comment.is_not(None))
                .group_by(AnswerFeedback.assistant_id)
            ).all()
        )
        assistants = session.execute(
            sa.select(Assistant.id, Assistant.name, User.username)
            .join(User, User.id == Assistant.owner_id)
            .where(Assistant.id.in_(list(counts)))
        ).all()
    rows = [
        AssistantSatisfaction(aid, name, owner, counts[aid], int(comments.get(aid, 0)))
        for aid, name, owner in assistants
    ]
    return sorted(rows, key=lambda row: (row.satisfaction.percent, row.name.lower()))


def satisfaction_csv(user: User) -> str:
    """`satisfaction_by_assistant` as CSV text (admins only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assistant_id", "assistant", "owner", "up", "down", "ratings",
                     "satisfaction_percent", "comments"])  # fmt: skip
    for row in satisfaction_by_assistant(user):
        s = row.satisfaction
        writer.writerow([row.assistant_id, _cell(row.name), _cell(row.owner), s.up, s.down,
                         s.total, s.percent, row.comments])  # fmt: skip
    return out.getvalue()


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @ first)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
