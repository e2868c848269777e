"""The small protocol for a provider's files and vector stores, beside `base.LLMProvider`.

Knowledge files, chat documents, clean-up and generated files reach the provider only through
a `FileStore`; `factory.open_file_store` picks the backend named by LLM_FILES:

- `openai`: the Files and Vector Stores APIs (OpenAI, and the simulator in tests and demo mode);
- `none`: for servers without them (Ollama, vLLM, most gateways). Uploads raise
  `DocumentsUnsupported`; deletions are no-ops, since nothing can have been stored there.

Every failure is raised as `FileStoreError` with a friendly message, never as an SDK
exception, so callers need not know which backend they talk to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import openai
from openai import AsyncOpenAI

from core.errors import ServiceError
from services.llm.errors import map_exception

log = logging.getLogger(__name__)

DOCUMENTS_UNSUPPORTED = "Documents are not supported by this provider."
UploadPurpose = Literal["assistants", "user_data"]  # the Files API's purposes we use
IndexState = Literal["processing", "ready", "failed"]
MAX_ERROR = 500
T = TypeVar("T")


class FileStoreError(ServiceError):
    """A provider file or vector-store call failed; `str(error)` is safe to show."""


class UpstreamMissing(FileStoreError):
    """The provider no longer has the file or vector store."""


class DocumentsUnsupported(FileStoreError):
    """The provider has no Files / Vector Stores API."""

    def __init__(self) -> None:
        super().__init__(DOCUMENTS_UNSUPPORTED)


@dataclass(frozen=True, slots=True)
class Indexing:
    """Where a file stands in a vector store; `error` says why when `state` is failed."""

    state: IndexState
    error: str | None = None


class FileStore(Protocol):
    """A provider's files and vector stores.

    Deleting something that is already gone is not an error. `attach` and `index_status`
    report a failed indexing as `Indexing("failed", reason)`, not as an exception (the
    provider answers such files with status `failed` and HTTP 200).
    """

    name: str
    supports_documents: bool

    async def upload(self, name: str, data: bytes, mime: str, purpose: UploadPurpose) -> str:
        """Upload a file; returns its provider id."""
        ...

    async def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file."""
        ...

    async def create_vector_store(self, name: str, metadata: dict[str, str]) -> str:
        """Create a vector store; returns its id."""
        ...

    async def vector_store_bytes(self, store_id: str) -> int | None:
        """The bytes the provider bills this store's storage on; None when it is gone."""
        ...

    async def delete_vector_store(self, store_id: str) -> None:
        """Delete a vector store (its files stay uploaded)."""
        ...

    async def attach(self, store_id: str, file_id: str) -> Indexing:
        """Add an uploaded file to a vector store; indexing usually goes on afterwards."""
        ...

    async def index_status(self, store_id: str, file_id: str) -> Indexing:
        """One look at a file's indexing; UpstreamMissing when the store lost it."""
        ...

    async def detach(self, store_id: str, file_id: str) -> None:
        """Take a file out of a vector store."""
        ...

    async def file_content(self, file_id: str, container_id: str | None = None) -> bytes:
        """The bytes of an uploaded file, or of a file in a code-interpreter container."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...


async def delete_everywhere(store: FileStore, store_id: str | None, file_id: str) -> None:
    """Detach a file from its vector store (if any) and delete it at the provider."""
    if store_id:
        await store.detach(store_id, file_id)
    await store.delete_file(file_id)


async def wait_indexed(
    store: FileStore, store_id: str, file_id: str, timeout: float, max_delay: float = 1.0
) -> Indexing:
    """Poll until a file is indexed or failed; `failed` after `timeout` seconds.

    A transient provider error is logged and polling goes on until the deadline.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            indexing = await store.index_status(store_id, file_id)
        except UpstreamMissing as exc:
            return Indexing("failed", str(exc))
        except FileStoreError as exc:
            log.warning("Could not poll file %s: %s", file_id, exc)
            indexing = Indexing("processing")
        if indexing.state != "processing":
            return indexing
        if time.monotonic() > deadline:
            return Indexing("failed", "indexing took too long.")
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


class OpenAIFileStore:
    """`FileStore` on the openai SDK's Files, Vector Stores and Containers APIs."""

    name = "openai"
    supports_documents = True

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client

    async def upload(self, name: str, data: bytes, mime: str, purpose: UploadPurpose) -> str:
        """Upload a file; returns its provider id."""
        uploaded = await _call(self.client.files.create(file=(name, data, mime), purpose=purpose))
        return uploaded.id

    async def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file (gone already is fine)."""
        await _ignore_missing(self.client.files.delete(file_id))

    async def create_vector_store(self, name: str, metadata: dict[str, str]) -> str:
        """Create a vector store; returns its id."""
        created = await _call(self.client.vector_stores.create(name=name, metadata=metadata))
        return created.id

    async def vector_store_bytes(self, store_id: str) -> int | None:
        """The store's `usage_bytes` (what storage is billed on); None when it is gone."""
        try:
            found = await _call(self.client.vector_stores.retrieve(store_id))
        except UpstreamMissing:
            return None
        return int(found.usage_bytes or 0)

    async def delete_vector_store(self, store_id: str) -> None:
        """Delete a vector store (gone already is fine)."""
        await _ignore_missing(self.client.vector_stores.delete(store_id))

    async def attach(self, store_id: str, file_id: str) -> Indexing:
        """Add an uploaded file to a vector store."""
        attached = await _call(
            self.client.vector_stores.files.create(vector_store_id=store_id, file_id=file_id)
        )
        return _indexing(attached)

    async def index_status(self, store_id: str, file_id: str) -> Indexing:
        """One look at a file's indexing."""
        found = await _call(
            self.client.vector_stores.files.retrieve(file_id, vector_store_id=store_id)
        )
        return _indexing(found)

    async def detach(self, store_id: str, file_id: str) -> None:
        """Take a file out of a vector store (gone already is fine)."""
        await _ignore_missing(
            self.client.vector_stores.files.delete(file_id, vector_store_id=store_id)
        )

    async def file_content(self, file_id: str, container_id: str | None = None) -> bytes:
        """The bytes of an uploaded file or of a code-interpreter container file."""
        if container_id:
            call = self.client.containers.files.content.retrieve(file_id, container_id=container_id)
        else:
            call = self.client.files.content(file_id)
        return (await _call(call)).read()

    async def aclose(self) -> None:
        """Close the SDK client."""
        await self.client.close()


class NoFileStore:
    """`FileStore` for a provider without Files / Vector Stores: uploads are refused.

    Deleting is a no-op: nothing can have been stored at this provider (objects left at a
    provider configured earlier are out of reach from here).
    """

    name = "none"
    supports_documents = False

    async def upload(self, name: str, data: bytes, mime: str, purpose: UploadPurpose) -> str:
        """Refused: DocumentsUnsupported."""
        raise DocumentsUnsupported()

    async def delete_file(self, file_id: str) -> None:
        """Nothing to delete."""

    async def create_vector_store(self, name: str, metadata: dict[str, str]) -> str:
        """Refused: DocumentsUnsupported."""
        raise DocumentsUnsupported()

    async def vector_store_bytes(self, store_id: str) -> int | None:
        """No store exists here."""
        return None

    async def delete_vector_store(self, store_id: str) -> None:
        """Nothing to delete."""

    async def attach(self, store_id: str, file_id: str) -> Indexing:
        """Refused: DocumentsUnsupported."""
        raise DocumentsUnsupported()

    async def index_status(self, store_id: str, file_id: str) -> Indexing:
        """The file cannot be here."""
        raise UpstreamMissing("The provider no longer has this file.")

    async def detach(self, store_id: str, file_id: str) -> None:
        """Nothing to detach."""

    async def file_content(self, file_id: str, container_id: str | None = None) -> bytes:
        """Refused: DocumentsUnsupported."""
        raise DocumentsUnsupported()

    async def aclose(self) -> None:
        """Nothing to release."""


@contextlib.asynccontextmanager
async def opened(store: FileStore) -> AsyncIterator[FileStore]:
    """Use a file store in `async with` and close it afterwards."""
    try:
        yield store
    finally:
        await store.aclose()


async def _call(call: Awaitable[T]) -> T:
    """Await an SDK call, turning its exceptions into FileStoreError."""
    try:
        return await call
    except openai.NotFoundError as exc:
        raise UpstreamMissing("The provider no longer has this file or vector store.") from exc
    except openai.OpenAIError as exc:
        raise FileStoreError(map_exception(exc).message[:MAX_ERROR]) from exc


async def _ignore_missing(call: Awaitable[Any]) -> None:
    with contextlib.suppress(UpstreamMissing):
        await _call(call)


def _indexing(store_file: Any) -> Indexing:
    """Our view of a provider vector-store file's status."""
    if store_file.status == "completed":
        return Indexing("ready")
    if store_file.status == "in_progress":
        return Indexing("processing")
    if store_file.status == "cancelled":
        return Indexing("failed", "Indexing was cancelled by the provider.")
    error = store_file.last_error.message if store_file.last_error else "Indexing failed."
    return Indexing("failed", error[:MAX_ERROR])
