"""A conversation as a Markdown document or a JSON-ready dict (owner only).

Both carry messages with their role, status, UTC timestamp, model, token counts and cost
(integer micro-dollars and USD), attachments by name and citations. Markdown follows the
active branch (what the page shows); JSON holds the whole message tree: every message with
its `parent_id`, and the conversation's `active_message_id`. Blocking: `run.io_bound`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session, select

from core.db import session_scope
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    StoredFile,
    User,
    as_utc,
)
from services.chat import tree
from services.chat.conversations import load_thread
from services.usage.pricing import format_usd

FORMAT_VERSION = 2  # 2: the whole tree (parent_id, active_message_id)
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class _Export:
    conversation: Conversation
    assistant: Assistant | None
    messages: list[ConversationMessage]  # every branch, oldest first
    files: dict[int, list[str]]  # message id -> names of files linked to it


def iso_utc(moment: datetime | None) -> str | None:
    """`2026-11-25T17:20:47Z` (SQLite returns naive datetimes: they are UTC)."""
    if moment is None:
        return None
    return as_utc(moment).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def usd(micros: int | None) -> float | None:
    """Micro-dollars as a USD amount (exact to the micro-dollar)."""
    return None if micros is None else float(Decimal(micros) / Decimal(1_000_000))


def export_filename(title: str, extension: str) -> str:
    """A safe download name for an export, e.g. `Trip-plans.md`."""
    slug = _SLUG_UNSAFE.sub("-", title).strip("-._")[:80] or "conversation"
    return f"{slug}.{extension}"


def _linked_files(session: Session, conversation_id: int) -> dict[int, list[str]]:
    rows = session.exec(
        select(StoredFile.message_id, StoredFile.name)
        .where(StoredFile.conversation_id == conversation_id)
        .where(StoredFile.message_id.is_not(None))
        .order_by(StoredFile.created_at, StoredFile.id)
    )
    files: dict[int, list[str]] = {}
    for message_id, name in rows:
        files.setdefault(message_id, []).append(name)
    return files


def _load(user: User, conversation_id: int) -> _Export:
    with session_scope() as session:
        conversation, assistant, messages = load_thread(session, user, conversation_id)
        return _Export(conversation, assistant, messages, _linked_files(session, conversation_id))


def _attachment_names(message: ConversationMessage, linked: list[str]) -> list[str]:
    names = [str(item.get("name") or "file") for item in message.attachments or []]
    return names + [name for name in linked if name not in names]


def _message_dict(message: ConversationMessage, linked: list[str]) -> dict:
    return {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": str(message.role),
        "status": str(message.status),
        "created_at": iso_utc(message.created_at),
        "content": message.content,
        "model": message.model,
        "input_tokens": message.input_tokens,
        "cached_tokens": message.cached_tokens,
        "output_tokens": message.output_tokens,
        "reasoning_tokens": message.reasoning_tokens,
        "cost_micros": message.cost_micros,
        "cost_usd": usd(message.cost_micros),
        "attachments": _attachment_names(message, linked),
        "citations": [
            {"title": c.get("title"), "url": c.get("url"), "filename": c.get("filename")}
            for c in message.citations or []
        ],
        "error": message.error,
    }


def export_json(user: User, conversation_id: int) -> dict:
    """The conversation as a JSON-ready dict; NotFound unless `user` owns it."""
    data = _load(user, conversation_id)
    conversation = data.conversation
    return {
        "format": "assistant-studio.conversation",
        "version": FORMAT_VERSION,
        "exported_at": iso_utc(datetime.now(UTC)),
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "assistant": data.assistant.name if data.assistant else None,
            "model": data.assistant.model if data.assistant else None,
            "created_at": iso_utc(conversation.created_at),
            "updated_at": iso_utc(conversation.updated_at),
            "message_count": len(data.messages),
            "active_message_id": tree.path_to(data.messages, conversation.active_message_id)[-1].id
            if data.messages
            else None,
            "input_tokens": conversation.input_tokens,
            "output_tokens": conversation.output_tokens,
            "cost_micros": conversation.cost_micros,
            "cost_usd": usd(conversation.cost_micros),
            "summary": conversation.summary or None,
        },
        "messages": [_message_dict(m, data.files.get(m.id, [])) for m in data.messages],
    }


def _message_markdown(message: ConversationMessage, linked: list[str]) -> str:
    when = iso_utc(message.created_at)
    if message.role == MessageRole.user:
        heading = f"### You · {when}"
    else:
        usage = f"{message.input_tokens:,} in / {message.output_tokens:,} out tokens"
        cost = f"cost {format_usd(message.cost_micros)}"
        parts = [f"### Assistant · {when}", message.model, usage, cost]
        if message.status != "complete":
            parts.append(str(message.status))
        heading = " · ".join(part for part in parts if part)
    lines = [heading, "", message.content.strip() or "_(empty)_", ""]
    if message.error:
        lines += [f"> Error: {message.error}", ""]
    names = _attachment_names(message, linked)
    if names:
        lines += ["Attachments: " + ", ".join(f"`{name}`" for name in names), ""]
    for number, citation in enumerate(message.citations or [], start=1):
        title = citation.get("title") or citation.get("filename") or "source"
        url = citation.get("url")
        lines.append(f"[{number}] {title}" + (f" <{url}>" if url else ""))
    if message.citations:
        lines.append("")
    return "\n".join(lines)


def _other_branches(count: int) -> str:
    if count <= 0:
        return ""
    return f" (the branch shown; {count} more on other branches, kept in the JSON export)"


def export_markdown(user: User, conversation_id: int) -> str:
    """The conversation as a Markdown document; NotFound unless `user` owns it."""
    data = _load(user, conversation_id)
    conversation = data.conversation
    path = tree.path_to(data.messages, conversation.active_message_id)
    header = [
        f"# {conversation.title}",
        "",
        f"- Assistant: {data.assistant.name} ({data.assistant.model})"
        if data.assistant
        else "- Assistant: (deleted)",
        f"- Started: {iso_utc(conversation.created_at)}",
        f"- Messages: {len(path)}" + _other_branches(len(data.messages) - len(path)),
        f"- Tokens: {conversation.input_tokens:,} in / {conversation.output_tokens:,} out",
        f"- Cost: {format_usd(conversation.cost_micros)}",
        f"- Exported: {iso_utc(datetime.now(UTC))}",
        "",
        "---",
        "",
    ]
    body = [_message_markdown(m, data.files.get(m.id, [])) for m in path]
    return "\n".join(header) + "\n".join(body)
