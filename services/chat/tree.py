"""The message tree of a conversation: branches, siblings and the active path.

Every message has a `parent_id` (None for a first message); messages sharing a parent are
siblings (an answer regenerated, a question edited). `Conversation.active_message_id` is the
leaf of the branch on show: the active path runs from a root down to it, and it is what the
page shows, what exports follow and what is sent to the provider as context.

A conversation without an active leaf is read as linear, in id order (how migration 0007
links old rows); the first change to its tree links its messages that way for good.

Helpers here take a session and do no access checks; callers check the user first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, literal, select

from core.errors import NotFound, ValidationError
from models import Conversation, ConversationMessage, MessageRole


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


def links(session: Session, conversation_id: int) -> list[tuple[int, int | None]]:
    """(id, parent_id) of every message of a conversation, oldest first: the tree's shape,
    enough to walk it without loading any text."""
    return list(
        session.exec(
            select(ConversationMessage.id, ConversationMessage.parent_id)
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id)
        )
    )


def path_ids(shape: list[tuple[int, int | None]], leaf_id: int | None) -> list[int]:
    """Ids of the root→leaf path ending at `leaf_id` in a conversation of that `shape`
    ((id, parent_id) pairs, oldest first).

    No leaf (a conversation never branched): all messages in order. A leaf that is gone
    falls back to the newest message, so a conversation is never shown empty.
    """
    if leaf_id is None:
        return [message_id for message_id, _ in shape]
    parents = dict(shape)
    node = leaf_id if leaf_id in parents else (shape[-1][0] if shape else None)
    path: list[int] = []
    seen: set[int] = set()
    while node is not None and node in parents and node not in seen:
        seen.add(node)
        path.append(node)
        node = parents[node]
    path.reverse()
    return path


def path_to(messages: list[ConversationMessage], leaf_id: int | None) -> list[ConversationMessage]:
    """Root→leaf path ending at `leaf_id` among `messages` (all of one conversation), as
    `path_ids` walks it."""
    by_id = {m.id: m for m in messages}
    return [by_id[i] for i in path_ids([(m.id, m.parent_id) for m in messages], leaf_id)]


def load(session: Session, ids: list[int]) -> list[ConversationMessage]:
    """The messages `ids`, in that order (ids that are gone are left out)."""
    if not ids:
        return []
    rows = session.exec(select(ConversationMessage).where(ConversationMessage.id.in_(ids)))
    by_id = {m.id: m for m in rows}
    return [by_id[i] for i in ids if i in by_id]


def active_ids(session: Session, conversation: Conversation) -> list[int]:
    """Ids of the active branch, root→leaf, read from the tree's shape alone."""
    return path_ids(links(session, conversation.id), conversation.active_message_id)


def active_path(session: Session, conversation: Conversation) -> list[ConversationMessage]:
    """The active branch, root→leaf (empty for a conversation without messages)."""
    return load(session, active_ids(session, conversation))


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
    messages: list[ConversationMessage], path: list[ConversationMessage], leaf_id: int | None
) -> dict[int, Branch]:
    """For each message on `path` (ending at `leaf_id`) that has siblings, its place among
    them (none while the conversation is linear: it has no leaf yet)."""
    if leaf_id is None:
        return {}
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


def linked_messages(session: Session, conversation: Conversation) -> list[ConversationMessage]:
    """All messages, oldest first, after making sure the tree is linked: a linear
    conversation (no active leaf yet) gets each message's parent set to the one before it
    and its last message as the active leaf. Call before changing the tree."""
    messages = all_messages(session, conversation.id)
    if conversation.active_message_id is None and messages:
        for previous, message in zip(messages, messages[1:], strict=False):
            if message.parent_id is None:
                message.parent_id = previous.id
                session.add(message)
        conversation.active_message_id = messages[-1].id
        session.add(conversation)
    return messages


def leaf_id(session: Session, conversation: Conversation) -> int | None:
    """The message a new message follows: the end of the active path (None when empty).
    A primary-key read, except once for a linear conversation, which it links."""
    if conversation.active_message_id is None:
        messages = linked_messages(session, conversation)
        return messages[-1].id if messages else None
    return _active_leaf(session, conversation)


def _active_leaf(session: Session, conversation: Conversation) -> int | None:
    """`active_message_id` while it exists in this conversation, else its newest message
    (as `path_ids` falls back)."""
    leaf = session.get(ConversationMessage, conversation.active_message_id)
    if leaf is not None and leaf.conversation_id == conversation.id:
        return leaf.id
    return session.exec(
        select(func.max(ConversationMessage.id)).where(
            ConversationMessage.conversation_id == conversation.id
        )
    ).one()


def tail(session: Session, conversation: Conversation, count: int) -> list[ConversationMessage]:
    """The last `count` messages of the active branch, oldest first, in one statement that
    reads only them: the newest rows of a linear conversation, or a recursive walk up the
    parent links from the active leaf."""
    if conversation.active_message_id is None:
        newest = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.id.desc())
            .limit(count)
        )
        return list(reversed(list(newest)))
    leaf = _active_leaf(session, conversation)
    if leaf is None or count <= 0:
        return []
    table = ConversationMessage.__table__
    walk = select(table.c.id, table.c.parent_id, literal(1).label("depth"))
    walk = walk.where(table.c.id == leaf).cte("walk", recursive=True)
    step = select(table.c.id, table.c.parent_id, walk.c.depth + 1)
    walk = walk.union_all(
        step.join_from(table, walk, table.c.id == walk.c.parent_id).where(walk.c.depth < count)
    )
    rows = session.exec(
        select(ConversationMessage)
        .join(walk, ConversationMessage.id == walk.c.id)
        .order_by(walk.c.depth.desc())
    )
    return list(rows)


def member(messages: list[ConversationMessage], message_id: int) -> ConversationMessage:
    """The message `message_id` among one conversation's `messages`, else NotFound (a stale
    button, or an id from another conversation)."""
    found = next((m for m in messages if m.id == message_id), None)
    if found is None:
        raise NotFound("Message not found")
    return found


def question_to_edit(
    messages: list[ConversationMessage], path: list[ConversationMessage], message_id: int | None
) -> ConversationMessage:
    """The user message an edit starts a new branch from: `message_id` (any of mine in this
    conversation), or None for my last message on the active path."""
    if message_id is None:
        found = next((m for m in reversed(path) if m.role == MessageRole.user), None)
        if found is None:
            raise ValidationError("There is no message of yours to edit yet.", "message")
        return found
    found = member(messages, message_id)
    if found.role != MessageRole.user:
        raise ValidationError("Only your own messages can be edited.", "message")
    return found


def answer_to_regenerate(
    messages: list[ConversationMessage], path: list[ConversationMessage], message_id: int | None
) -> tuple[ConversationMessage, ConversationMessage]:
    """(question, answer) for regenerating answer `message_id` (None: the last answer on the
    active path); the new answer becomes that answer's sibling under the same question."""
    if message_id is None:
        answer = path[-1] if path and path[-1].role == MessageRole.assistant else None
        if answer is None:
            raise ValidationError("There is no answer to replace yet.")
    else:
        answer = member(messages, message_id)
        if answer.role != MessageRole.assistant:
            raise ValidationError("Only an answer can be regenerated.")
    question = next((m for m in messages if m.id == answer.parent_id), None)
    if question is None or question.role != MessageRole.user:
        raise ValidationError("There is no message of yours to answer again.")
    return question, answer
