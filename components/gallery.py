"""The images of a conversation: a grid of thumbnails and a keyboard-navigable lightbox.

ArrowLeft / ArrowRight step through the images while the lightbox is open, Escape closes it;
every image has a Download link. Images are only ever loaded from the authenticated
`/files/{id}` route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import events, ui

from components.chat_attachments import image
from components.lazy import BuiltOnFirstUse
from models import StoredFile


class Gallery:
    """A "Gallery" dialog; `open()` loads the images through `load` and shows them."""

    def __init__(self, load: Callable[[], Awaitable[list[StoredFile]]]) -> None:
        self.load = load
        self.images: list[StoredFile] = []
        self.index = 0
        # Most chat pages never open the gallery: its dialogs are built on the first open.
        self.dialogs = BuiltOnFirstUse(self._build)

    def _build(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("w-full max-w-4xl gap-3"):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Images in this conversation").classes("text-lg font-semibold")
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat round dense aria-label="Close gallery"'
                )
            self.grid = ui.element("div").classes(
                "grid grid-cols-2 sm:grid-cols-3 md:grid-cols-4 gap-3 w-full"
            )
            self.grid.mark("gallery-grid")
        with (
            ui.dialog() as self.lightbox,
            ui.card().classes("w-full max-w-5xl items-center gap-2 bg-white dark:bg-slate-900"),
        ):
            self.viewer = ui.column().classes("w-full items-center gap-2")
        self.lightbox.on("hide", lambda: setattr(self.keys, "active", False))
        self.keys = ui.keyboard(on_key=self._key, active=False, ignore=[])

    async def open(self) -> None:
        """Load the current images and show the grid (or its empty state)."""
        self.dialogs.ensure()
        self.grid.clear()
        with self.grid:
            ui.spinner(size="lg").classes("col-span-full justify-self-center")
        self.dialog.open()
        self.images = await self.load()
        self.grid.clear()
        with self.grid:
            if not self.images:
                ui.label(
                    "No images yet. Attach one, or ask an assistant with Code interpreter "
                    "for a chart."
                ).classes("col-span-full text-slate-500 dark:text-slate-400 py-6 text-center")
            for index, item in enumerate(self.images):
                with (
                    ui.button(on_click=lambda _, i=index: self.show(i))
                    .props("flat no-caps padding=xs")
                    .classes("w-full") as tile,
                    ui.column().classes("w-full gap-1 items-center"),
                ):
                    image(f"/files/{item.id}/thumbnail", item.name).classes(
                        "w-full aspect-square object-cover rounded-lg"
                    )
                    ui.label(item.name).classes("text-xs truncate max-w-full")
                tile.props["aria-label"] = f"Open {item.name}"
                tile.mark(f"gallery-{item.name}")

    def show(self, index: int) -> None:
        """Open image `index` in the lightbox."""
        if not self.images:
            return
        self.index = index % len(self.images)
        item = self.images[self.index]
        self.viewer.clear()
        with self.viewer:
            image(f"/files/{item.id}", item.name).classes(
                "lightbox-image max-w-full max-h-[70vh] object-contain rounded-lg"
            )
            ui.label(f"{item.name} · {self.index + 1} of {len(self.images)}").classes(
                "text-sm text-slate-600 dark:text-slate-300"
            ).mark("lightbox-caption")
            with ui.row().classes("items-center gap-2 flex-wrap justify-center"):
                ui.button("Previous", icon="chevron_left", on_click=self.previous).props(
                    "flat no-caps"
                )
                ui.button("Next", icon="chevron_right", on_click=self.next).props("flat no-caps")
                download = ui.link("Download", f"/files/{item.id}").classes(
                    "px-3 py-1 rounded-lg bg-indigo-600 text-white no-underline"
                )
                download.props["download"] = item.name
                ui.button("Close", on_click=self.lightbox.close).props("flat no-caps")
            ui.label("← → to browse · Esc to close").classes("text-xs text-slate-500")
        self.lightbox.open()
        self.keys.active = True

    def next(self) -> None:
        """The next image (wraps around)."""
        self.show(self.index + 1)

    def previous(self) -> None:
        """The previous image (wraps around)."""
        self.show(self.index - 1)

    def _key(self, event: events.KeyEventArguments) -> None:
        if not event.action.keydown or not self.lightbox.value:
            return
        if event.key.arrow_right:
            self.next()
        elif event.key.arrow_left:
            self.previous()
        elif event.key.escape:
            self.lightbox.close()
