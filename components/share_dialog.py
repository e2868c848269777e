"""The chat header's "Share" dialog: who may open the link, then the link to copy.

"Public" is offered only while an admin allows public links. The link is shown once (only a
hash of its token is stored); the profile lists links to revoke.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.lazy import BuiltOnFirstUse

TEAM, PUBLIC = "team", "public"


class ShareDialog:
    """`on_create(public)` makes the link and returns its absolute URL (None on failure)."""

    def __init__(
        self,
        public_allowed: Callable[[], Awaitable[bool]],
        on_create: Callable[[bool], Awaitable[str | None]],
    ) -> None:
        self.public_allowed = public_allowed
        self.on_create = on_create
        self.form = BuiltOnFirstUse(self._build)  # most pages never open it

    def _build(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-lg"):
            ui.label("Share a snapshot").classes("text-lg font-medium")
            ui.label(
                "The link shows this conversation as it is now, read-only. Later messages are "
                "not added. You can revoke it from your profile."
            ).classes("text-sm text-slate-500 dark:text-slate-400")
            self.audience = ui.radio(
                {TEAM: "Signed-in teammates", PUBLIC: "Public: anyone with the link"}, value=TEAM
            ).props('aria-label="Who can open the link"')
            self.create_button = ui.button("Create link", icon="link", on_click=self._create).props(
                "unelevated no-caps"
            )
            with ui.row().classes("w-full items-center gap-2 no-wrap") as self.result:
                self.link = (
                    ui.input("Share link").props("readonly outlined dense").classes("flex-1")
                )
                ui.button("Copy link", icon="content_copy", on_click=self._copy).props(
                    "flat dense no-caps"
                )
            self.result.visible = False
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat no-caps")

    async def open(self) -> None:
        """Reset and show the dialog (asks whether public links are allowed right now)."""
        allowed = await self.public_allowed()
        self.form.ensure()
        self.audience.value = TEAM
        self.audience.set_visibility(allowed)
        self.result.visible = False
        self.create_button.set_enabled(True)
        self.dialog.open()

    async def _create(self) -> None:
        self.create_button.set_enabled(False)
        url = await self.on_create(self.audience.value == PUBLIC)
        if url is None:
            self.create_button.set_enabled(True)
            return
        self.link.value = url
        self.result.visible = True

    def _copy(self) -> None:
        ui.clipboard.write(self.link.value or "")
        ui.notify("Link copied")
