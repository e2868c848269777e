"""Deleting what we stored at the provider: uploaded files and vector stores."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.errors import ServiceError
from models import Assistant, StoredFile
from services.llm.factory import open_file_store
from services.llm.files import FileStoreError, delete_everywhere

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamObjects:
    """Provider objects to delete together."""

    file_ids: list[str] = field(default_factory=list)
    vector_store_ids: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.file_ids or self.vector_store_ids)


async def remove_file_upstream(
    store_id: str | None, file_id: str, what: str, settings: Settings | None = None
) -> None:
    """Detach and delete one file at the provider; ServiceError naming `what` on failure."""
    try:
        async with open_file_store(settings or get_settings()) as store:
            await delete_everywhere(store, store_id, file_id)
    except FileStoreError as exc:
        raise ServiceError(f"Could not delete {what} at the provider; try again ({exc}).") from exc


async def _purge(objects: UpstreamObjects, settings: Settings) -> None:
    async with open_file_store(settings) as store:
        for file_id in objects.file_ids:
            await store.delete_file(file_id)
        for store_id in objects.vector_store_ids:
            await store.delete_vector_store(store_id)


def run_to_end(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to the end from blocking code (a worker thread, or a test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def purge_upstream(
    objects: UpstreamObjects, what: str, *, best_effort: bool, settings: Settings | None = None
) -> None:
    """Delete files and vector stores at the provider (blocking).

    Already-deleted objects are fine. Other provider errors are logged when `best_effort`
    (the local records are gone anyway), else raised as ServiceError so the caller keeps its
    records and the user can try again. `what` names the owner in messages.
    """
    if not objects:
        return
    try:
        run_to_end(_purge(objects, settings or get_settings()))
    except FileStoreError as exc:
        reason = str(exc)
        if best_effort:
            log.warning("Provider cleanup for %s incomplete: %s", what, reason)
            return
        raise ServiceError(
            f"Could not delete the {what}'s files at the provider ({reason}). "
            f"The {what} was kept; try again."
        ) from exc


def assistant_upstream(session: Session, assistant: Assistant) -> UpstreamObjects:
    """The vector store and provider files an assistant owns (for deleting it)."""
    file_ids = session.exec(
        select(StoredFile.provider_file_id).where(
            StoredFile.assistant_id == assistant.id, StoredFile.provider_file_id.is_not(None)
        )
    ).all()
    stores = [assistant.vector_store_id] if assistant.vector_store_id else []
    return UpstreamObjects(file_ids=list(file_ids), vector_store_ids=stores)
