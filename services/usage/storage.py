"""Vector-store storage: billed per GB-day to the owner, and conversation stores expired.

`bill_storage_day` appends one `storage` ledger row per vector store and UTC day, priced
from the catalog's `file_storage_per_gb_day`. It is idempotent: the row's `dedupe_key`
(store and day) is unique, so a second run, or a second instance, bills nothing more. The
size is the provider's own figure, the store's `usage_bytes` (what it bills: the parsed
chunks), asked for once per store and day (a free call). A store the provider no longer has
is not billed; when the provider cannot be asked, the bytes the app indexed into the store
are billed instead, marked as an estimate, so a day is never lost.

A conversation's store expires CONVERSATION_STORE_DAYS after the conversation was last used;
the chat page says when (see `store_expiry`), and `expire_conversation_stores` deletes it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from core.db import session_scope
from models import (
    Assistant,
    Conversation,
    PriceSource,
    SpendEntry,
    SpendKind,
    StoredFile,
    User,
    as_utc,
)
from services.files.upstream import UpstreamObjects, purge_upstream
from services.llm.catalog import load_catalog
from services.llm.factory import documents_supported, open_file_store
from services.llm.files import FileStoreError
from services.usage import reservations
from services.usage.pricing import storage_cost_micros

log = logging.getLogger(__name__)

STORE_TOOL = "vector_store"
WARN_BEFORE = timedelta(days=2)


@dataclass(frozen=True)
class _Store:
    store_id: str
    owner_id: int
    assistant_id: int | None
    assistant_label: str
    conversation_id: int | None
    conversation_label: str
    size: int


def _stores(session: Session) -> list[_Store]:
    knowledge = (
        select(
            Assistant.vector_store_id,
            Assistant.owner_id,
            Assistant.id,
            Assistant.name,
            sa.func.coalesce(sa.func.sum(StoredFile.size), 0),
        )
        .outerjoin(StoredFile, StoredFile.assistant_id == Assistant.id)
        .where(Assistant.vector_store_id.is_not(None))
        .group_by(Assistant.vector_store_id, Assistant.owner_id, Assistant.id, Assistant.name)
    )
    chats = (
        select(
            Conversation.vector_store_id,
            Conversation.owner_id,
            Conversation.assistant_id,
            Conversation.id,
            Conversation.title,
            sa.func.coalesce(sa.func.sum(StoredFile.size), 0),
        )
        .outerjoin(
            StoredFile,
            sa.and_(
                StoredFile.conversation_id == Conversation.id,
                StoredFile.provider_file_id.is_not(None),
            ),
        )
        .where(Conversation.vector_store_id.is_not(None))
        .group_by(
            Conversation.vector_store_id,
            Conversation.owner_id,
            Conversation.assistant_id,
            Conversation.id,
            Conversation.title,
        )
    )
    found = [
        _Store(s, o, a, name, None, "", int(n)) for s, o, a, name, n in session.exec(knowledge)
    ]
    found += [_Store(s, o, a, "", c, t, int(n)) for s, o, a, c, t, n in session.exec(chats)]
    return found


async def bill_storage_day(day: date) -> int:
    """Bill `day` (UTC) of every vector store to its owner; returns the rows added."""
    pending = await asyncio.to_thread(_unbilled, day)
    sizes = await _provider_sizes([store.store_id for store in pending])
    return await asyncio.to_thread(_bill, day, pending, sizes)


def _key(store_id: str, day: date) -> str:
    return f"storage:{store_id}:{day.isoformat()}"


def _billed_keys(session: Session, day: date) -> set[str]:
    return set(
        session.exec(
            select(SpendEntry.dedupe_key).where(
                SpendEntry.kind == SpendKind.storage,
                SpendEntry.created_at >= _start(day),
                SpendEntry.created_at < _start(day + timedelta(days=1)),
            )
        )
    )


def _unbilled(day: date) -> list[_Store]:
    with session_scope() as session:
        billed = _billed_keys(session, day)
        return [s for s in _stores(session) if _key(s.store_id, day) not in billed]


async def _provider_sizes(store_ids: list[str]) -> dict[str, int | None]:
    """Each store's `usage_bytes` at the provider (None: it no longer has the store); a
    store missing from the answer could not be asked about."""
    settings = get_settings()
    if not store_ids or not documents_supported(settings):
        return {}
    sizes: dict[str, int | None] = {}
    try:
        async with open_file_store(settings) as files:
            for store_id in store_ids:
                sizes[store_id] = await files.vector_store_bytes(store_id)
    except FileStoreError as exc:
        log.warning("Storage billing could not ask the provider (%s); billing indexed bytes", exc)
    return sizes


def _bill(day: date, pending: list[_Store], sizes: dict[str, int | None]) -> int:
    prices = load_catalog(get_settings()).tool_prices
    with session_scope() as session:
        billed = _billed_keys(session, day)  # another instance may have billed meanwhile
        users = {uid: name for uid, name in session.exec(select(User.id, User.username))}
        added = 0
        for store in pending:
            key = _key(store.store_id, day)
            measured = store.store_id in sizes
            size = sizes[store.store_id] if measured else store.size
            if key in billed or not size:
                continue
            session.add(
                SpendEntry(
                    created_at=_start(day + timedelta(days=1)) - timedelta(microseconds=1),
                    kind=SpendKind.storage,
                    tool=STORE_TOOL,
                    quantity=size,
                    user_id=store.owner_id,
                    user_label=users.get(store.owner_id, ""),
                    assistant_id=store.assistant_id,
                    assistant_label=store.assistant_label,
                    conversation_id=store.conversation_id,
                    conversation_label=store.conversation_label,
                    cost_micros=storage_cost_micros(size, prices),
                    price_source=PriceSource.usage if measured else PriceSource.estimate,
                    dedupe_key=key,
                )
            )
            billed.add(key)
            added += 1
        reservations.prune(session)
    return added


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def store_expiry(conversation: Conversation) -> datetime | None:
    """When a conversation's documents expire (None: it has none)."""
    if not conversation.vector_store_id:
        return None
    return as_utc(conversation.updated_at) + timedelta(days=get_settings().conversation_store_days)


def expiry_notice(conversation: Conversation, now: datetime | None = None) -> str | None:
    """What the chat page says when the documents of this chat expire soon."""
    expires = store_expiry(conversation)
    if expires is None or expires - (now or datetime.now(UTC)) > WARN_BEFORE:
        return None
    return (
        f"The documents attached to this chat are deleted on {expires:%d %b %Y %H:%M} UTC "
        "because the chat has not been used for a while. Send a message to keep them."
    )


def expire_conversation_stores(now: datetime | None = None) -> int:
    """Delete the vector stores of conversations unused for CONVERSATION_STORE_DAYS."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=get_settings().conversation_store_days)
    with session_scope() as session:
        stale = list(
            session.exec(
                select(Conversation).where(
                    Conversation.vector_store_id.is_not(None), Conversation.updated_at < cutoff
                )
            )
        )
        objects = UpstreamObjects(vector_store_ids=[c.vector_store_id for c in stale])
        for conversation in stale:
            conversation.vector_store_id = None
            session.add(conversation)
    purge_upstream(objects, "conversation", best_effort=True)
    if stale:
        log.info("Expired the document stores of %d conversation(s)", len(stale))
    return len(stale)


async def run_daily(now: datetime | None = None) -> None:
    """The periodic job (hourly; idempotent): bill yesterday's storage, expire old stores."""
    today = (now or datetime.now(UTC)).date()
    await bill_storage_day(today - timedelta(days=1))
    await asyncio.to_thread(expire_conversation_stores, now)
