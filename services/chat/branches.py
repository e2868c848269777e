"""Moving around a conversation's message tree: switch branch, fork into a new chat.

Both take the acting user and check that the message is in one of that user's conversations
(another user's message is treated like a missing one).
"""

from __future__ import annotations

from core.db import session_scope
from core.errors import ValidationError
from models import Conversation, ConversationMessage, MessageStatus, User
from services.chat import generation, tree
from services.chat.conversations import owned_conversation, touch

FORK_SUFFIX = " (branch)"
TITLE_ROOM = 200 - len(FORK_SUFFIX)


def show_branch(user: User, conversation_id: int, message_id: int) -> int:
    """Show the branch through message `message_id` (a sibling picked with ‹ ›): its newest
    continuation becomes the active leaf. Returns the new leaf's id."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        if any(not g.finished for g in generation.for_conversation(conversation.id)):
            raise ValidationError("Wait for the current reply to finish (or stop it).")
        messages = tree.linked_messages(session, conversation)
        tree.member(messages, message_id)
        conversation.active_message_id = tree.leaf_under(messages, message_id)
        session.add(conversation)
        return conversation.active_message_id


def fork_conversation(user: User, conversation_id: int, message_id: int) -> Conversation:
    """Continue in a new chat from message `message_id`: a new conversation of `user` with a
    copy of the path from the first message down to it (text, files by reference, citations,
    statuses). The copies carry no cost: the spend stays with the original messages."""
    with session_scope() as session:
        source = owned_conversation(session, user, conversation_id)
        messages = tree.linked_messages(session, source)
        tree.member(messages, message_id)
        path = tree.path_to(messages, message_id)
        if any(m.status == MessageStatus.streaming for m in path):
            raise ValidationError("Wait for the reply to finish (or stop it).")
        fork = Conversation(
            owner_id=user.id,
            assistant_id=source.assistant_id,
            title=source.title.removesuffix(FORK_SUFFIX)[:TITLE_ROOM] + FORK_SUFFIX,
            summary=source.summary,
            cost_cap_micros=source.cost_cap_micros,
            message_count=len(path),
        )
        session.add(fork)
        session.flush()
        parent_id = None
        for message in path:
            copy = _copy(message, fork.id, parent_id)
            session.add(copy)
            session.flush()
            parent_id = copy.id
        fork.active_message_id = parent_id
        touch(fork)
        session.add(fork)
        session.flush()
        session.refresh(fork)
        return fork


def _copy(
    message: ConversationMessage, conversation_id: int, parent_id: int | None
) -> ConversationMessage:
    return ConversationMessage(
        conversation_id=conversation_id,
        parent_id=parent_id,
        role=message.role,
        content=message.content,
        status=message.status,
        error=message.error,
        error_category=message.error_category,
        attachments=list(message.attachments or []),
        citations=list(message.citations or []),
        reasoning_summary=message.reasoning_summary,
        model=message.model,
        created_at=message.created_at,
    )
