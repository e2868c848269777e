"""Attachments in the chat composer, and the files shown inside sent messages.

The browser sends each picked, dropped or pasted file with its own XHR to a hidden `ui.upload`
endpoint, so every file has its own progress; a chip per file shows name, size, progress,
then the server's verdict (`checking`, `indexing`, `ready`, or the reason it was refused) and
a Remove button. Ready images show their thumbnail. The owner (the composer) asks `all_ready`
before sending and gets the ids from `ready_ids`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import orjson
from nicegui import events, ui
from nicegui.elements.upload_files import FileUpload

from components.assets import use_static
from core.errors import ServiceError
from services.files.attachments import Attachment
from services.files.uploads import format_size

IMAGE_ACCEPT = "image/png,image/jpeg,image/webp,image/gif"
ACTIVE = ("uploading", "checking", "processing")
_STATUS_TEXT = {"uploading": "uploading", "checking": "checking", "processing": "indexing"}


@dataclass(frozen=True)
class AttachCallbacks:
    """What the page does with files: `upload` checks and keeps one (raising ServiceError
    with the reason), `wait` waits until an indexed document is ready, `remove` forgets one.
    `images_reason` is why images cannot be sent (None: the model sees images)."""

    upload: Callable[[str, FileUpload], Awaitable[Attachment]]
    wait: Callable[[str], Awaitable[Attachment]]
    remove: Callable[[str], Awaitable[None]]
    pending: list[Attachment] = field(default_factory=list)
    images_reason: str | None = None


@dataclass(frozen=True)
class Chip:
    """One file in the composer; `key` is the stored file id, or `local-…` until stored."""

    key: str
    name: str
    size: int
    status: str
    progress: float = 0.0
    error: str | None = None
    image: bool = False

    @property
    def local(self) -> bool:
        return self.key.startswith("local-")


def _chip_of(item: Attachment) -> Chip:
    return Chip(item.id, item.name, item.size, str(item.status), 1.0, item.error, item.is_image)


class ChatAttachments:
    """Chips of the composer's attachments; `buttons()` and `accept_*` wire the inputs."""

    def __init__(self, callbacks: AttachCallbacks, on_change: Callable[[], None]) -> None:
        self.callbacks = callbacks
        self.on_change = on_change
        self.chips: dict[str, Chip] = {}
        self.upload = ui.upload(multiple=True, auto_upload=True, on_upload=self._arrived)
        self.upload.classes("hidden")
        self.event = f"chat_attach_{self.upload.id}"
        ui.on(self.event, self._browser_event)
        use_static("chat_attach.js", "chat_attach.css")
        self.row = ui.row().classes("w-full gap-2 flex-wrap")
        self.row.mark("attachment-chips")
        for item in callbacks.pending:
            self.chips[item.id] = _chip_of(item)
            if item.status == "processing":
                self._follow(item.id)
        self._render()

    # ------------------------------------------------------------ state

    @property
    def all_ready(self) -> bool:
        """No file is still uploading, being checked or indexed."""
        return not any(chip.status in ACTIVE for chip in self.chips.values())

    @property
    def ready_ids(self) -> list[str]:
        """Stored files ready to go with the next message."""
        return [c.key for c in self.chips.values() if c.status == "ready" and not c.local]

    def clear_sent(self) -> None:
        """After a send: the ready files went with the message; refused ones are dropped."""
        self.chips = {k: c for k, c in self.chips.items() if c.status in ACTIVE}
        self._changed()

    # ------------------------------------------------------------ inputs

    def _handler(self, method: str) -> str:
        """A browser handler calling `chatAttach.<method>(event, upload url, event name)`."""
        url = orjson.dumps(self.upload.props["url"]).decode()
        return f"(e) => chatAttach.{method}(e, {url}, {orjson.dumps(self.event).decode()})"

    def buttons(self) -> None:
        """The paperclip ("Attach files") and image ("Attach image") buttons."""
        picker = ui.element("input").props('type=file multiple aria-label="Files to attach"')
        picker.classes("hidden").on("change", js_handler=self._handler("picked"))
        images = ui.element("input").props(f'type=file multiple accept="{IMAGE_ACCEPT}"')
        images.props('aria-label="Images to attach"').classes("hidden")
        images.on("change", js_handler=self._handler("picked"))
        self.attach_button = (
            ui.button(icon="attach_file")
            .props('flat round dense aria-label="Attach files"')
            .props('title="Attach files (or drop them on the conversation)"')
            .mark("attach-files")
        )
        self.attach_button.on("click", js_handler=f"() => getHtmlElement({picker.id}).click()")
        reason = self.callbacks.images_reason
        with ui.element("div").classes("inline-flex") as holder:
            self.image_button = (
                ui.button(icon="image")
                .props('flat round dense aria-label="Attach image"')
                .mark("attach-image")
            )
            ui.tooltip(reason or "Attach images (or paste one into the message)")
        holder.mark("image-button-holder")
        if reason:
            self.image_button.disable()
        else:
            self.image_button.on("click", js_handler=f"() => getHtmlElement({images.id}).click()")

    def accept_paste(self, element: ui.element) -> None:
        """Images pasted into `element` (the message box) are attached."""
        element.on("paste", js_handler=self._handler("paste"))

    def accept_drop(self, element: ui.element) -> None:
        """Files dropped anywhere on `element` (the conversation) are attached."""
        element.on("dragover", js_handler="(e) => chatAttach.dragOver(e)")
        element.on("dragleave", js_handler="(e) => chatAttach.dragLeave(e)")
        element.on("drop", js_handler=self._handler("drop"))

    # ------------------------------------------------------------ events

    def _browser_event(self, event: events.GenericEventArguments) -> None:
        data = event.args if isinstance(event.args, dict) else {}
        key = str(data.get("key") or "")
        if not key.startswith("local-"):
            return
        kind = data.get("kind")
        if kind == "start" and key not in self.chips:
            name, size = str(data.get("name") or "file")[:200], int(data.get("size") or 0)
            self.chips[key] = Chip(key, name, size, "uploading")
            self._changed()
        elif kind == "progress" and key in self.chips:
            self._set(key, progress=float(data.get("done") or 0))
        elif kind == "failed" and self.chips.get(key, Chip(key, "", 0, "")).status == "uploading":
            self._set(key, status="failed", error="the upload was interrupted")

    def _claim(self, name: str, size: int) -> str:
        """The in-flight chip this arrived file belongs to (made now if its start is late)."""
        for key, chip in self.chips.items():
            if chip.local and chip.status == "uploading" and (chip.name, chip.size) == (name, size):
                return key
        key = f"local-{uuid.uuid4().hex}"
        self.chips[key] = Chip(key, name, size, "uploading")
        return key

    async def _arrived(self, event: events.UploadEventArguments) -> None:
        file = event.file
        key = self._claim(file.name or "file", file.size())
        self._set(key, status="checking", progress=1.0)
        try:
            item = await self.callbacks.upload(self.chips[key].name, file)
        except ServiceError as exc:
            self._set(key, status="failed", error=str(exc))
            return
        if key not in self.chips:  # removed meanwhile
            await self._remove_stored(item.id)
            return
        self.chips = {
            (item.id if k == key else k): (_chip_of(item) if k == key else c)
            for k, c in self.chips.items()
        }
        self._changed()
        if item.status == "processing":
            await self._wait(item.id)

    def _follow(self, file_id: str) -> None:
        ui.timer(0.01, lambda: self._wait(file_id), once=True)

    async def _wait(self, file_id: str) -> None:
        try:
            item = await self.callbacks.wait(file_id)
        except ServiceError as exc:
            if file_id in self.chips:
                chip = self.chips.pop(file_id)
                local = f"local-{file_id}"
                self.chips[local] = replace(chip, key=local, status="failed", error=str(exc))
                self._changed()
            return
        if file_id in self.chips:
            self.chips[file_id] = _chip_of(item)
            self._changed()

    async def _remove(self, key: str) -> None:
        chip = self.chips.get(key)
        if chip is None:
            return
        if not chip.local:
            try:
                await self.callbacks.remove(key)
            except ServiceError as exc:
                ui.notify(str(exc), type="negative")
                return
        self.chips.pop(key, None)
        self._changed()

    async def _remove_stored(self, file_id: str) -> None:
        with contextlib.suppress(ServiceError):
            await self.callbacks.remove(file_id)

    # ------------------------------------------------------------ drawing

    def _set(self, key: str, **changes: object) -> None:
        if key in self.chips:
            self.chips[key] = replace(self.chips[key], **changes)
            self._changed()

    def _changed(self) -> None:
        self._render()
        self.on_change()

    def _render(self) -> None:
        self.row.clear()
        with self.row:
            for chip in self.chips.values():
                self._chip(chip)

    def _chip(self, chip: Chip) -> None:
        failed = chip.status == "failed"
        tone = (
            "border-red-300 bg-red-50 text-red-900 dark:border-red-700 dark:bg-red-900/30 "
            "dark:text-red-100"
            if failed
            else "border-slate-200 bg-white text-slate-800 dark:border-slate-600 "
            "dark:bg-slate-800 dark:text-slate-100"
        )
        with ui.element("div").classes(
            f"relative flex items-center gap-2 max-w-full sm:max-w-xs pl-2 pr-1 py-1 "
            f"rounded-lg border overflow-hidden {tone}"
        ) as box:
            box.props(f'data-attach-key="{chip.key}"')
            if chip.image and not chip.local:
                image(f"/files/{chip.key}/thumbnail", f"Preview of {chip.name}").classes(
                    "w-10 h-10 object-cover rounded shrink-0"
                ).mark(f"thumbnail-{chip.name}")
            else:
                ui.icon("error" if failed else "description", size="sm").classes(
                    "shrink-0 " + ("text-red-500" if failed else "text-slate-400")
                )
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(chip.name).classes("text-sm font-medium truncate max-w-[14rem]")
                ui.label(self._detail(chip)).classes("text-xs opacity-75 break-words")
            if chip.status in ACTIVE:
                ui.spinner(size="xs").classes("shrink-0")
            remove = ui.button(icon="close", on_click=lambda _, k=chip.key: self._remove(k))
            remove.props("flat round dense size=sm").props["aria-label"] = f"Remove {chip.name}"
            remove.tooltip("Remove").mark(f"remove-{chip.name}")
            if chip.status == "uploading":
                ui.element("div").classes(
                    "attach-progress absolute left-0 bottom-0 h-1 bg-indigo-500"
                ).style(f"width: {round(chip.progress * 100)}%")
        box.mark(f"attachment-{chip.name}")

    @staticmethod
    def _detail(chip: Chip) -> str:
        size = format_size(chip.size)
        if chip.status == "failed":
            return chip.error or "failed"
        if chip.status == "uploading":
            return f"{size} · uploading {round(chip.progress * 100)}%"
        if chip.status == "ready":
            return f"{size} · ready"
        return f"{size} · {_STATUS_TEXT.get(chip.status, chip.status)}…"


def image(src: str, alt: str) -> ui.element:
    """A plain `<img>` (attributes set as values, never parsed from a string)."""
    element = ui.element("img")
    element.props.update(src=src, alt=alt)
    return element


# ---------------------------------------------------------------- inside messages


def sent_attachments(items: list[dict], base: str = "/files") -> None:
    """A user message's attachments: image thumbnails and file links (served under `base`:
    `/files`, or a share link's own file route)."""
    if not items:
        return
    with ui.row().classes("gap-2 flex-wrap pt-1"):
        for item in items:
            file_id, name = str(item.get("id") or ""), str(item.get("name") or "file")
            if str(item.get("mime") or "").startswith("image/"):
                with ui.link(target=f"{base}/{file_id}", new_tab=True) as link:
                    image(f"{base}/{file_id}/thumbnail", name).classes(
                        "h-20 max-w-[10rem] object-cover rounded-lg"
                    ).mark(f"sent-{name}")
                link.props["aria-label"] = f"Open {name}"
            else:
                with ui.link(target=f"{base}/{file_id}").classes(
                    "flex items-center gap-1 text-xs text-white/90 underline"
                ):
                    ui.icon("attach_file", size="xs")
                    ui.label(name)


def generated_files(tool_calls: dict | None, base: str = "/files") -> None:
    """Files the model produced, kept by the server: images inline, others as downloads."""
    kept = [g for g in (tool_calls or {}).get("generated_files", []) if g.get("stored_file_id")]
    if not kept:
        return
    with ui.column().classes("gap-2 pt-2 w-full"):
        for entry in kept:
            url, name = f"{base}/{entry['stored_file_id']}", str(entry.get("filename") or "file")
            if str(entry.get("mime") or "").startswith("image/"):
                image(url, name).classes(
                    "generated-image max-w-full max-h-96 rounded-lg border "
                    "border-slate-200 dark:border-slate-700"
                )
            else:
                with ui.link(target=url).classes("flex items-center gap-1 text-sm"):
                    ui.icon("download", size="xs")
                    ui.label(name)
