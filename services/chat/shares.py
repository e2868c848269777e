"""Share links: a read-only snapshot of a conversation, opened at `/share/{token}`.

The snapshot copies the messages when the link is made, so later edits change nothing. The
token (`secrets.token_urlsafe`, 256 bits) is shown once; only its SHA-256 is stored, and it
never goes into a log line (the access log is redacted, see `redact_share_tokens`).

Who may open a link: any signed-in, active teammate; anonymous visitors only when the link was
made public AND an admin allows public links now (`public_share_links` app setting). Turning
the setting off stops every public link at once. Everything refused looks like an unknown link.
Files of the snapshot are served only through the link (`shared_file`) and stop with it.
Blocking: call through `run.io_bound`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import (
    AppSetting,
    Assistant,
    Conversation,
    MessageRole,
    ShareLink,
    StoredFile,
    User,
    utcnow,
)
from services.accounts import audit
from services.accounts.permissions import active_actor, require_admin
from services.assistants.manage import list_assistants, load_for_use
from services.chat.conversations import owned_conversation, title_from
from services.chat.export import iso_utc
from services.chat.message_copy import (
    CopiedMessage,
    append_messages,
    snapshot_status,
    web_citations,
)
from services.chat.render_worker import render_isolated
from services.chat.tree import active_path, all_messages

PUBLIC_LINKS_KEY = "public_share_links"
SHARE_PATH = "/share/"
NOT_FOUND = "This share link does not exist or was revoked."
PUBLIC_OFF = "Public links are turned off by your administrator."
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_FILE_URL_RE = re.compile(r"/files/([0-9a-f]{32})")
# `/share/<token>` wherever it appears in a log line (path, or `next=` of a redirect).
_TOKEN_IN_TEXT = re.compile(r"(/share/)[A-Za-z0-9_-]{8,}")


@dataclass(frozen=True)
class CreatedShare:
    """A new link: the token is known only now (the database keeps its hash)."""

    id: int
    token: str
    public: bool

    @property
    def path(self) -> str:
        """The link's path, e.g. `/share/AbC...`."""
        return f"{SHARE_PATH}{self.token}"


@dataclass(frozen=True)
class ShareItem:
    """One of my links, as the profile lists it."""

    id: int
    title: str
    conversation_id: int | None
    public: bool
    message_count: int
    created_at: datetime


@dataclass(frozen=True)
class SharedConversation:
    """What a viewer sees: the snapshot, who shared it and which of their assistants fit."""

    id: int
    title: str
    assistant_name: str
    owner_name: str
    public: bool
    created_at: datetime
    messages: list[dict]
    viewer_is_owner: bool


def token_hash(token: str) -> str:
    """The stored form of a token (SHA-256 hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def redact(text: str) -> str:
    """`text` with every share token replaced by `…` (for log lines)."""
    return _TOKEN_IN_TEXT.sub(r"\1…", text)


class ShareTokenFilter(logging.Filter):
    """Rewrites log records so no share token reaches a log (uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_share_tokens() -> None:
    """Install `ShareTokenFilter` on uvicorn's access and error logs (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ShareTokenFilter) for f in logger.filters):
            logger.addFilter(ShareTokenFilter())


# ---------------------------------------------------------------- the admin setting


def _public_enabled(session: Session) -> bool:
    row = session.get(AppSetting, PUBLIC_LINKS_KEY)
    return row is not None and row.value == "on"


def public_links_enabled() -> bool:
    """True when an admin allows public (anonymous) share links."""
    with session_scope() as session:
        return _public_enabled(session)


def set_public_links(actor: User, enabled: bool) -> bool:
    """Admins only: allow or stop public links (off stops the existing ones at once)."""
    require_admin(actor)
    with session_scope() as session:
        row = session.get(AppSetting, PUBLIC_LINKS_KEY) or AppSetting(key=PUBLIC_LINKS_KEY)
        row.value = "on" if enabled else "off"
        row.updated_at = utcnow()
        session.add(row)
    audit.record("admin.set_public_share_links", actor, enabled=enabled)
    return enabled


# ---------------------------------------------------------------- making and listing links


def _snapshot_message(message) -> dict:  # noqa: ANN001 (a ConversationMessage)
    generated = [
        {
            "stored_file_id": g.get("stored_file_id"),
            "filename": g.get("filename"),
            "mime": g.get("mime"),
        }
        for g in (message.tool_calls or {}).get("generated_files", [])
        if g.get("stored_file_id")
    ]
    return {
        "role": str(message.role),
        "status": str(snapshot_status(message.status)),
        "content": message.content,
        "created_at": iso_utc(message.created_at),
        "model": message.model,
        "attachments": [
            {"id": a.get("id"), "name": a.get("name"), "mime": a.get("mime")}
            for a in message.attachments or []
        ],
        "citations": list(message.citations or []),
        "generated_files": generated,
    }


def _referenced_files(messages: list[dict]) -> set[str]:
    found: set[str] = set()
    for message in messages:
        found.update(str(a["id"]) for a in message["attachments"] if a.get("id"))
        found.update(str(g["stored_file_id"]) for g in message["generated_files"])
        found.update(
            str(c["stored_file_id"]) for c in message["citations"] if c.get("stored_file_id")
        )
        found.update(_FILE_URL_RE.findall(message["content"]))
    return found


def create_share(user: User, conversation_id: int, public: bool = False) -> CreatedShare:
    """Snapshot the user's conversation behind a new link (public only when allowed)."""
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        if public and not _public_enabled(session):
            raise ValidationError(PUBLIC_OFF, "public")
        conversation = owned_conversation(session, user, conversation_id)
        assistant = (
            session.get(Assistant, conversation.assistant_id) if conversation.assistant_id else None
        )
        # The branch on show; a conversation written before the message tree has no active
        # leaf yet and is one line of messages.
        rows = (
            active_path(session, conversation)
            if conversation.active_message_id is not None
            else all_messages(session, conversation.id)
        )
        messages = [
            _snapshot_message(m) for m in rows if m.content or m.attachments or m.tool_calls
        ]
        if not messages:
            raise ValidationError("There is nothing to share yet.", "conversation")
        referenced = _referenced_files(messages)
        # Only files of this conversation: a message cannot smuggle in another file's id.
        file_ids = (
            list(
                session.exec(
                    select(StoredFile.id)
                    .where(StoredFile.conversation_id == conversation.id)
                    .where(StoredFile.id.in_(referenced))
                )
            )
            if referenced
            else []
        )
        share = ShareLink(
            token_hash=token_hash(token),
            owner_id=user.id,
            conversation_id=conversation.id,
            assistant_id=conversation.assistant_id,
            title=conversation.title,
            assistant_name=assistant.name if assistant else "",
            public=public,
            messages=messages,
            file_ids=sorted(file_ids),
        )
        session.add(share)
        session.flush()
        share_id = share.id
    audit.record("share.created", user, share_id=share_id, public=public)
    return CreatedShare(share_id, token, public)


def list_shares(user: User) -> list[ShareItem]:
    """My links, newest first."""
    with session_scope() as session:
        active_actor(session, user)
        rows = session.exec(
            select(ShareLink)
            .where(ShareLink.owner_id == user.id)
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        ).all()
        return [
            ShareItem(
                id=row.id,
                title=row.title,
                conversation_id=row.conversation_id,
                public=row.public,
                message_count=len(row.messages or []),
                created_at=row.created_at,
            )
            for row in rows
        ]


def revoke_share(user: User, share_id: int) -> None:
    """Delete one of my links: its page and its files stop answering at once."""
    with session_scope() as session:
        active_actor(session, user)
        deleted = session.execute(
            sa.delete(ShareLink).where(ShareLink.id == share_id, ShareLink.owner_id == user.id)
        ).rowcount
    if not deleted:
        raise NotFound("Share link not found")
    audit.record("share.revoked", user, share_id=share_id)


# ---------------------------------------------------------------- opening a link


def _open(session: Session, viewer: User | None, token: str) -> ShareLink:
    """The link for `token` if `viewer` (None = anonymous) may open it, else NotFound."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise NotFound(NOT_FOUND)
    share = session.exec(select(ShareLink).where(ShareLink.token_hash == token_hash(token))).first()
    if share is None:
        raise NotFound(NOT_FOUND)
    if viewer is not None:
        active_actor(session, viewer)
        return share
    if share.public and _public_enabled(session):
        return share
    raise NotFound(NOT_FOUND)


def open_share(viewer: User | None, token: str) -> SharedConversation:
    """The snapshot behind `token` for this viewer; NotFound when unknown, revoked or refused."""
    with session_scope() as session:
        share = _open(session, viewer, token)
        owner = session.get(User, share.owner_id)
        return SharedConversation(
            id=share.id,
            title=share.title,
            assistant_name=share.assistant_name,
            owner_name=owner.username if owner else "a former teammate",
            public=share.public,
            created_at=share.created_at,
            messages=list(share.messages or []),
            viewer_is_owner=viewer is not None and viewer.id == share.owner_id,
        )


def may_open_anonymously(token: str) -> bool:
    """True when anyone (not signed in) may open `token` now."""
    with session_scope() as session:
        try:
            _open(session, None, token)
        except NotFound:
            return False
        return True


def shared_file(viewer: User | None, token: str, file_id: str) -> StoredFile:
    """A file of the snapshot, served through its link only; NotFound otherwise."""
    with session_scope() as session:
        share = _open(session, viewer, token)
        if file_id not in (share.file_ids or []):
            raise NotFound("File not found")
        row = session.get(StoredFile, file_id)
        if row is None or row.conversation_id != share.conversation_id:
            raise NotFound("File not found")  # deleted since, with its conversation
        return row


def share_url_rewriter(token: str):  # noqa: ANN201 (Callable[[str], str])
    """A function turning `/files/<id>` URLs of rendered HTML into this link's file URLs."""
    prefix = f"{SHARE_PATH}{token}/files/"

    def rewrite(html: str) -> str:
        return _FILE_URL_RE.sub(lambda m: prefix + m[1], html)

    return rewrite


# ---------------------------------------------------------------- continuing as a copy


def copy_assistants(viewer: User, token: str) -> tuple[list[tuple[int, str]], int | None]:
    """The assistants the viewer may continue with, and the one to preselect (the shared
    conversation's own when the viewer may use it)."""
    with session_scope() as session:
        share = _open(session, viewer, token)
        original = share.assistant_id
        options = [(a.id, a.name) for a in list_assistants(viewer, session=session)]
    ids = [option[0] for option in options]
    preselect = original if original in ids else (ids[0] if ids else None)
    return options, preselect


def _copied(message: dict) -> CopiedMessage:
    return CopiedMessage(
        role=MessageRole(message["role"]),
        content=message["content"],
        status=snapshot_status(message.get("status")),
        citations=web_citations(message.get("citations")),
        model=message.get("model"),
    )


def continue_as_copy(viewer: User, token: str, assistant_id: int) -> Conversation:
    """A new conversation of the viewer's, holding the snapshot's messages (text, citations
    to web pages; files stay with the share), with an assistant the viewer may use."""
    with session_scope() as session:
        share = _open(session, viewer, token)
        assistant = load_for_use(session, viewer, assistant_id)
        conversation = Conversation(
            owner_id=viewer.id,
            assistant_id=assistant.id,
            title=(share.title or title_from(share.messages[0]["content"]))[:200],
        )
        session.add(conversation)
        session.flush()
        append_messages(session, conversation, [_copied(m) for m in share.messages])
        session.flush()
    audit.record("share.copied", viewer, share_id=share.id, conversation_id=conversation.id)
    return conversation


def render_answers(messages: list[dict], token: str) -> list[str | None]:
    """Each answer's sanitized HTML (None for questions) with file URLs through the link."""
    rewrite = share_url_rewriter(token)
    return [
        rewrite(render_isolated(m.get("content") or "", m.get("citations") or []))
        if m.get("role") != "user" and m.get("content")
        else None
        for m in messages
    ]
