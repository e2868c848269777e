"""The message tree of a conversation: branches, siblings and the active path.

Every message has a `parent_id` (None for a first message); messages sharing a parent are
siblings (an answer regenerated, a question edited). `Conversation.active_message_id` is the
leaf of the branch on show: the active path runs from a root down to it, and it is what the
page shows, what exports follow and what is sent to the provider as context.

Helpers here take a session and do no access checks; callers check the user first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from models import Conversation, ConversationMessage


@dataclass(frozen=True)
class Branch:
    """Where a message sits among its siblings: `index` is 1-based of `count`; the ids of
    the previous and next sibling (None at either end)."""

    index: int
    count: int
    previous_id: int | None
    next_id: int | None


def all_messages(session: Session, conversation_id: int) -> list[ConversationMessage]:
    """Every message of a conversation, every branch, oldest first."""
    return list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id)
        )
    )


def path_to(messages: list[ConversationMessage], leaf_id: int | None) -> list[ConversationMessage]:
    """Root→leaf path ending at `leaf_id` among `messages` (all of one conversation).

    A missing leaf falls back to the newest message, so a conversation is never shown empty.
    """
    by_id = {m.id: m for m in messages}
    node = by_id.get(leaf_id) if leaf_id is not None else None
    if node is None:
        node = messages[-1] if messages else None
    path: list[ConversationMessage] = []
    seen: set[int] = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        path.append(node)
        node = by_id.get(node.parent_id) if node.parent_id is not None else None
    path.reverse()
    return path


def active_path(session: Session, conversation: Conversation) -> list[ConversationMessage]:
    """The active branch, root→leaf (empty for a conversation without messages)."""
    return path_to(all_messages(session, conversation.id), conversation.active_message_id)


def siblings(session: Session, message: ConversationMessage) -> list[ConversationMessage]:
    """The messages sharing `message`'s parent in its conversation (itself included), oldest
    first: the alternatives a ‹ 2/3 › switch steps through."""
    statement = select(ConversationMessage).where(
        ConversationMessage.conversation_id == message.conversation_id
    )
    if message.parent_id is None:
        statement = statement.where(ConversationMessage.parent_id.is_(None))
    else:
        statement = statement.where(ConversationMessage.parent_id == message.parent_id)
    return list(session.exec(statement.order_by(ConversationMessage.id)))


def branches(
    messages: list[ConversationMessage], path: list[ConversationMessage]
) -> dict[int, Branch]:
    """For each message on `path` that has siblings, its place among them."""
    groups: dict[int | None, list[int]] = {}
    for message in messages:
        groups.setdefault(message.parent_id, []).append(message.id)
    found: dict[int, Branch] = {}
    for message in path:
        ids = groups.get(message.parent_id, [])
        if len(ids) < 2 or message.id not in ids:
            continue
        at = ids.index(message.id)
        found[message.id] = Branch(
            at + 1,
            len(ids),
            ids[at - 1] if at > 0 else None,
            ids[at + 1] if at + 1 < len(ids) else None,
        )
    return found


def leaf_under(messages: list[ConversationMessage], message_id: int) -> int:
    """The leaf reached from `message_id` by always taking the newest child: the branch that
    a switch to this message shows."""
    children: dict[int, int] = {}
    for message in messages:  # oldest first, so the newest child wins
        if message.parent_id is not None:
            children[message.parent_id] = message.id
    leaf, seen = message_id, {message_id}
    while leaf in children and children[leaf] not in seen:
        leaf = children[leaf]
        seen.add(leaf)
    return leaf
