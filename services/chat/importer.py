"""Import conversations: a ChatGPT data export (`conversations.json`) or this app's own JSON
export (`services/chat/export.py`) becomes conversations of the importing user.

ChatGPT keeps each conversation as a tree (`mapping` of nodes with `parent`/`children`, and
`current_node` for the branch on show); the tree is kept here too (`parent_id`, the active
leaf). Only user and assistant text is imported; system and tool messages, hidden messages
and non-text parts (images, files, code output) are skipped and counted in the report.

Everything happens in one transaction: a malformed file (or one over IMPORT_MAX_MB) raises a
ValidationError with a clear message and leaves nothing behind. Blocking: `run.io_bound`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlmodel import Session

from core.config import get_settings
from core.db import session_scope
from core.errors import ValidationError
from models import Conversation, MessageRole, User
from services.accounts.permissions import active_actor
from services.assistants.manage import load_for_use
from services.chat.conversations import DEFAULT_TITLE, TITLE_MAX, title_from
from services.chat.message_copy import (
    CopiedMessage,
    new_message,
    snapshot_status,
    web_citations,
)

OWN_FORMAT = "assistant-studio.conversation"
MAX_CONVERSATIONS = 5000
NOT_RECOGNISED = (
    "This file is neither a ChatGPT export (conversations.json) nor an Assistant Studio "
    "conversation export."
)
_ROLES = {"user": MessageRole.user, "assistant": MessageRole.assistant}


@dataclass(frozen=True)
class ImportedConversation:
    """One conversation made by the import."""

    id: int
    title: str
    messages: int
    branches: int  # leaves of its message tree (1 = linear)


@dataclass
class ImportReport:
    """What was imported and what was skipped (reason -> count)."""

    source: str
    conversations: list[ImportedConversation] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    @property
    def messages(self) -> int:
        """How many messages were imported in all."""
        return sum(c.messages for c in self.conversations)

    def summary(self) -> str:
        """One sentence for a notification."""
        text = (
            f"Imported {len(self.conversations)} conversation(s) with {self.messages} "
            f"message(s) from {self.source}."
        )
        if self.skipped:
            text += " Skipped: " + ", ".join(f"{n} {why}" for why, n in self.skipped.items()) + "."
        return text


@dataclass
class _Node:
    """A message to write, with the id of the node it hangs under in the source."""

    key: str
    parent_key: str | None
    message: CopiedMessage


def _load(data: bytes) -> object:
    limit = get_settings().import_max_mb
    if len(data) > limit * 1024 * 1024:
        raise ValidationError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; imports may be at most {limit} MB. "
            "Split the export or import the conversations you need.",
            "file",
        )
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(
            f"The file is not valid JSON ({str(exc).split(':')[0]}).", "file"
        ) from exc


def _when(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _title(value: object, nodes: list[_Node]) -> str:
    title = " ".join(str(value or "").split())[:TITLE_MAX]
    if title:
        return title
    first = next((n.message.content for n in nodes if n.message.role == MessageRole.user), "")
    return title_from(first) if first else DEFAULT_TITLE


# ---------------------------------------------------------------- ChatGPT's conversations.json


def _chatgpt_text(message: dict, skipped: Counter) -> str | None:
    """The text of a ChatGPT message, or None (counted in `skipped`) when there is none."""
    author = message.get("author") or {}
    role = author.get("role") if isinstance(author, dict) else None
    if role not in _ROLES:
        skipped[f"{role or 'unknown'} message(s)"] += 1
        return None
    metadata = message.get("metadata") or {}
    if isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"):
        skipped["hidden message(s)"] += 1
        return None
    content = message.get("content") or {}
    if not isinstance(content, dict):
        raise ValueError("a message's content is not an object")
    kind = content.get("content_type")
    if kind not in ("text", "multimodal_text"):
        skipped[f"{kind or 'untyped'} message(s)"] += 1
        return None
    parts = content.get("parts") or []
    if not isinstance(parts, list):
        raise ValueError("a message's parts are not a list")
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        else:
            kind = part.get("content_type", "unknown") if isinstance(part, dict) else "unknown"
            skipped[f"non-text part(s) ({kind})"] += 1
    text = "\n\n".join(t for t in texts if t.strip())
    if not text.strip():
        skipped["empty message(s)"] += 1
        return None
    return text


def _chatgpt_nodes(item: dict, skipped: Counter) -> tuple[list[_Node], str | None]:
    """The kept messages of one conversation, parents before children, and the active key."""
    mapping = item.get("mapping")
    if not isinstance(mapping, dict):
        raise ValueError("it has no `mapping` of messages")
    kept: dict[str, CopiedMessage] = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            raise ValueError("a node of its mapping is not an object")
        message = node.get("message")
        if message is None:
            continue  # the empty root node ChatGPT puts on top
        if not isinstance(message, dict):
            raise ValueError("a node's message is not an object")
        text = _chatgpt_text(message, skipped)
        if text is None:
            continue
        role = _ROLES[message["author"]["role"]]
        metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        kept[key] = CopiedMessage(
            role=role,
            content=text,
            created_at=_when(message.get("create_time")),
            model=str(metadata.get("model_slug"))[:100]
            if role == MessageRole.assistant and metadata.get("model_slug")
            else None,
        )

    def kept_ancestor(key: object) -> str | None:
        """The nearest kept node above `key` (skipped system/tool nodes are stepped over)."""
        seen: set[str] = set()
        while isinstance(key, str) and key in mapping and key not in seen:
            seen.add(key)
            parent = mapping[key].get("parent")
            if parent in kept:
                return parent
            key = parent
        return None

    parents = {key: kept_ancestor(key) for key in kept}
    # Parents before children: walk from the roots, children in the order they were written.
    children: dict[str | None, list[str]] = {}
    for key in kept:
        children.setdefault(parents[key], []).append(key)
    ordered: list[_Node] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        key = stack.pop()
        ordered.append(_Node(key, parents[key], kept[key]))
        stack.extend(reversed(children.get(key, [])))
    current = item.get("current_node")
    active = current if current in kept else kept_ancestor(current)
    return ordered, active


# ---------------------------------------------------------------- this app's own export


def _own_nodes(data: dict, skipped: Counter) -> list[_Node]:
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ValueError("it has no list of messages")
    nodes: list[_Node] = []
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content", ""), str):
            raise ValueError(f"message {number + 1} is not a message")
        role = _ROLES.get(str(message.get("role")))
        if role is None:
            skipped[f"{message.get('role') or 'unknown'} message(s)"] += 1
            continue
        if not message.get("content", "").strip():
            skipped["empty message(s)"] += 1
            continue
        parent = nodes[-1].key if nodes else None
        nodes.append(
            _Node(
                str(number),
                parent,
                CopiedMessage(
                    role=role,
                    content=message["content"],
                    created_at=_when(message.get("created_at")),
                    status=snapshot_status(message.get("status")),
                    citations=web_citations(
                        [
                            c | {"kind": "url"}
                            for c in message.get("citations") or []
                            if isinstance(c, dict)
                        ]
                    ),
                    model=str(message["model"])[:100] if message.get("model") else None,
                ),
            )
        )
    return nodes


# ---------------------------------------------------------------- writing


def _write(
    session: Session,
    user: User,
    assistant_id: int | None,
    title: str,
    nodes: list[_Node],
    active_key: str | None,
    created: datetime | None,
) -> ImportedConversation:
    conversation = Conversation(owner_id=user.id, assistant_id=assistant_id, title=title)
    if created is not None:
        conversation.created_at = created
    session.add(conversation)
    session.flush()
    ids: dict[str, int] = {}
    for node in nodes:
        row = new_message(conversation, node.message, ids.get(node.parent_key or ""))
        session.add(row)
        session.flush()  # its id is its children's parent
        ids[node.key] = row.id
    conversation.message_count = len(nodes)
    conversation.active_message_id = ids.get(active_key or "") or (
        ids[nodes[-1].key] if nodes else None
    )
    session.add(conversation)
    parents = {node.parent_key for node in nodes}
    leaves = sum(1 for node in nodes if node.key not in parents)
    return ImportedConversation(conversation.id, title, len(nodes), leaves)


def import_conversations(user: User, data: bytes, assistant_id: int | None = None) -> ImportReport:
    """Import a ChatGPT `conversations.json` or an Assistant Studio export for `user`, with
    an assistant the user may use (None: the conversations are read-only until moved on).

    All or nothing: ValidationError (nothing saved) for a file too large, not JSON, of
    neither format, or malformed; conversations with no importable message are skipped.
    """
    parsed = _load(data)
    if isinstance(parsed, dict) and parsed.get("format") == OWN_FORMAT:
        items, source = [parsed], "an Assistant Studio export"
    elif isinstance(parsed, list) and all(isinstance(i, dict) and "mapping" in i for i in parsed):
        items, source = parsed, "a ChatGPT export"
    else:
        raise ValidationError(NOT_RECOGNISED, "file")
    if not items:
        raise ValidationError("The file holds no conversations.", "file")
    if len(items) > MAX_CONVERSATIONS:
        raise ValidationError(
            f"The file holds {len(items):,} conversations; import at most {MAX_CONVERSATIONS:,} "
            "at a time.",
            "file",
        )
    report = ImportReport(source)
    with session_scope() as session:
        actor = active_actor(session, user)
        if assistant_id is not None:
            load_for_use(session, actor, assistant_id)
        for number, item in enumerate(items, start=1):
            try:
                if source == "a ChatGPT export":
                    nodes, active = _chatgpt_nodes(item, report.skipped)
                    title, created = item.get("title"), _when(item.get("create_time"))
                else:
                    nodes, active = _own_nodes(item, report.skipped), None
                    meta = (
                        item.get("conversation")
                        if isinstance(item.get("conversation"), dict)
                        else {}
                    )
                    title, created = meta.get("title"), _when(meta.get("created_at"))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValidationError(
                    f"Conversation {number} of the file is malformed: {exc}. Nothing was imported.",
                    "file",
                ) from exc
            if not nodes:
                report.skipped["conversation(s) without text messages"] += 1
                continue
            report.conversations.append(
                _write(session, actor, assistant_id, _title(title, nodes), nodes, active, created)
            )
    return report
