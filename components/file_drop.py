"""A drag-and-drop zone with a file picker, per-file upload progress and status chips.

The browser shows each file's transfer progress (Quasar's uploader); once a file has arrived,
`on_upload(name, data)` does the real work and returns the item to show. Items then carry a
status chip (`uploading`, `processing`, `ready`, `failed (reason)`) that the owner updates with
`set_items` (e.g. from a polling timer); `queued` marks a file kept in the page until the form
it belongs to is first saved. Reused by knowledge files and chat attachments.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from nicegui import events, ui

from components.assets import use_static
from core.errors import ServiceError
from services.files.uploads import format_size

ACTIVE_STATUSES = ("uploading", "processing")
_CHIP_STYLE = {
    "uploading": ("upload", "bg-sky-100 text-sky-800 dark:bg-sky-900/50 dark:text-sky-100"),
    "processing": (
        "hourglass_top",
        "bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100",
    ),
    "ready": (
        "check_circle",
        "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-100",
    ),
    "failed": ("error", "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-100"),
    # Picked on the form of an assistant not saved yet: uploaded by its first save.
    "queued": ("schedule", "bg-slate-100 text-slate-700 dark:bg-slate-700 dark:text-slate-100"),
}


@dataclass(frozen=True)
class DropItem:
    """One file in the list; `key` identifies it for removal."""

    key: str
    name: str
    size: int
    status: str
    error: str | None = None
    local: bool = False  # only in this page (an upload in flight or a refused file)


def status_text(item: DropItem) -> str:
    """The chip text: the status, with the reason when it failed."""
    if item.status == "queued":
        return "added when you save"
    return f"failed ({item.error})" if item.status == "failed" and item.error else item.status


class FileDrop:
    """Drop zone + picker + list of files with status chips."""

    def __init__(
        self,
        *,
        on_upload: Callable[[str, bytes], Awaitable[DropItem]],
        on_remove: Callable[[DropItem], Awaitable[None]] | None = None,
        items: list[DropItem] | None = None,
        label: str = "Drop files here or choose them",
        hint: str = "",
        accept: str = "",
        max_file_bytes: int | None = None,
        read_only: bool = False,
    ) -> None:
        self._on_upload = on_upload
        self._on_remove = on_remove
        self._max_file_bytes = max_file_bytes
        self._items: dict[str, DropItem] = {item.key: item for item in items or []}
        self._read_only = read_only
        with ui.column().classes("w-full gap-2") as self.root:
            if not read_only:
                use_static("file_drop.css")
                self.upload = (
                    ui.upload(
                        multiple=True,
                        auto_upload=True,
                        max_file_size=max_file_bytes,
                        on_upload=self._handle_upload,
                        on_rejected=self._handle_rejected,
                    )
                    .props(f'flat bordered accept="{accept}" color="primary"')
                    .classes(
                        "file-drop w-full rounded-lg border-dashed border-2 border-slate-300 "
                        "dark:border-slate-600 bg-slate-50 dark:bg-slate-900/40"
                    )
                )
                self.upload.mark("file-drop")
                self._header(label)
                if hint:
                    ui.label(hint).classes("text-xs text-slate-500 dark:text-slate-400")
            self.list = ui.column().classes("w-full gap-1")
        self._render()

    def _header(self, label: str) -> None:
        """The uploader's header: its label and a named "Choose files" button.

        Quasar's own header puts the `<input type=file>` inside an icon-only link-button (a
        control nested in a control, unnamed: axe-core's nested-interactive); here the input
        (Quasar's add trigger, which feeds the uploader) sits apart and hidden, and the button
        opens its picker.
        """
        pick = f"() => getElement({self.upload.id}).$refs.qRef.pickFiles()"
        with (
            self.upload.add_slot("header"),
            ui.row().classes("w-full items-center no-wrap gap-2 px-3 py-2"),
        ):
            ui.label(label).classes("grow text-sm font-medium")
            ui.button("Choose files", icon="add").props("flat dense no-caps color=white").on(
                "click", js_handler=pick
            )
            with ui.element("div").classes("hidden"):
                ui.element("q-uploader-add-trigger")

    @property
    def items(self) -> list[DropItem]:
        """Every item shown, in order."""
        return list(self._items.values())

    @property
    def waiting_for_server(self) -> bool:
        """True while a stored file is still being processed (time to poll)."""
        return any(
            item.status in ACTIVE_STATUSES and not item.local for item in self._items.values()
        )

    def set_items(self, items: list[DropItem]) -> None:
        """Show the owner's items; local ones (in flight, refused) stay and stand for theirs."""
        local = {key: item for key, item in self._items.items() if item.local}
        in_flight = {item.name for item in local.values() if item.status == "uploading"}
        stored = {
            item.key: item
            for item in items
            if not (item.status == "uploading" and item.name in in_flight)
        }
        self._items = stored | local
        self._render()

    def _render(self) -> None:
        self.list.clear()
        with self.list:
            if not self._items:
                ui.label("No files yet.").classes("text-sm text-slate-500 dark:text-slate-400")
            for item in self._items.values():
                self._row(item)

    def _row(self, item: DropItem) -> None:
        icon, style = _CHIP_STYLE.get(item.status, _CHIP_STYLE["failed"])
        with ui.row().classes(
            "w-full items-center gap-2 px-3 py-2 rounded-lg bg-[#fff] dark:bg-slate-800 "
            "border border-slate-200 dark:border-slate-700 flex-nowrap"
        ) as row:
            ui.icon("description", size="sm").classes("text-slate-400 shrink-0")
            with ui.column().classes("gap-0 min-w-0 grow"):
                ui.label(item.name).classes("text-sm font-medium truncate max-w-full")
                ui.label(format_size(item.size)).classes("text-xs text-slate-500")
            with ui.row().classes(
                f"items-center gap-1 px-2 py-0.5 rounded-full text-xs shrink min-w-0 {style}"
            ) as chip:
                if item.status in ACTIVE_STATUSES:
                    ui.spinner(size="xs")
                else:
                    ui.icon(icon, size="xs")
                ui.label(status_text(item)).classes("break-words")
            chip.mark(f"status-{item.name}")
            if not self._read_only and item.status != "uploading" and self._on_remove:
                ui.button(icon="close", on_click=lambda _, it=item: self._remove(it)).props(
                    f'flat round dense size=sm aria-label="Remove {item.name}"'
                ).tooltip("Remove").mark(f"remove-{item.name}")
        row.mark(f"file-{item.name}")

    async def _remove(self, item: DropItem) -> None:
        if not item.local and self._on_remove is not None:
            try:
                await self._on_remove(item)
            except ServiceError as exc:
                ui.notify(str(exc), type="negative")
                return
        self._items.pop(item.key, None)
        self._render()

    async def _handle_upload(self, event: events.UploadEventArguments) -> None:
        file = event.file
        key = f"local-{uuid.uuid4().hex}"
        size = file.size()
        placeholder = DropItem(key, file.name or "file", size, "uploading", local=True)
        self._items[key] = placeholder
        self._render()
        self.upload.run_method("removeUploadedFiles")
        if self._max_file_bytes is not None and size > self._max_file_bytes:
            limit = format_size(self._max_file_bytes)
            self._items[key] = replace(placeholder, status="failed", error=f"larger than {limit}")
            self._render()
            return
        if self._is_duplicate(placeholder):
            error = "already added: remove the other copy first to replace it"
            self._items[key] = replace(placeholder, status="failed", error=error)
            ui.notify(f"“{placeholder.name}” is already in the list.", type="warning")
            self._render()
            return
        try:
            result = await self._on_upload(placeholder.name, await file.read())
        except ServiceError as exc:
            self._items[key] = replace(placeholder, status="failed", error=str(exc))
        else:
            self._items.pop(key, None)
            self._items[result.key] = result
        self._render()

    def _is_duplicate(self, new: DropItem) -> bool:
        """The same file (name and size) is already listed and not failed."""
        return any(
            item.key != new.key
            and item.name == new.name
            and item.size == new.size
            and item.status != "failed"
            for item in self._items.values()
        )

    def _handle_rejected(self) -> None:
        limit = format_size(self._max_file_bytes) if self._max_file_bytes else "the limit"
        ui.notify(
            f"Some files were not uploaded: use a supported type, at most {limit} each.",
            type="warning",
        )
