"""The conversation list: grouped by day, search, inline rename, delete with confirm."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui

from services.chat.conversations import ConversationItem


@dataclass
class ListActions:
    """What the list can ask the page to do."""

    on_search: Callable[[str], Awaitable[None]]
    on_rename: Callable[[int, str], Awaitable[bool]]
    on_delete: Callable[[int], Awaitable[None]]
    on_new: Callable[[int], None]


def new_chat_picker(assistants: list[tuple[int, str]], on_new: Callable[[int], None]) -> None:
    """`New chat` with an assistant picker (or a link to create the first assistant)."""
    if not assistants:
        with ui.column().classes("w-full gap-1 p-3 rounded-lg bg-indigo-50 dark:bg-indigo-900/30"):
            ui.label("No assistants yet").classes("font-medium")
            ui.link("Create your first assistant", "/assistants/new").classes(
                "text-indigo-700 dark:text-indigo-200"
            )
        return
    options = dict(assistants)
    picker = (
        ui.select(options, value=assistants[0][0], label="Assistant")
        .props("outlined dense options-dense")
        .classes("w-full")
    )
    ui.button("New chat", icon="add", on_click=lambda: on_new(picker.value)).props(
        "unelevated no-caps"
    ).classes("w-full")


class ConversationList:
    """The left column of the chat page; `show(groups)` redraws the items only."""

    def __init__(
        self,
        assistants: list[tuple[int, str]],
        active_id: int | None,
        actions: ListActions,
        query: str = "",
    ) -> None:
        self.active_id = active_id
        self.actions = actions
        self.rows: dict[int, tuple[ui.row, ConversationItem]] = {}
        with ui.column().classes("w-full md:w-72 shrink-0 gap-2") as self.root:
            new_chat_picker(assistants, actions.on_new)
            self.search = (
                ui.input("Search conversations", value=query)
                .props("outlined dense clearable debounce=300")
                .classes("w-full")
            )
            self.search.on_value_change(lambda e: actions.on_search(e.value or ""))
            self.items = ui.column().classes("w-full gap-0 max-h-[70vh] overflow-y-auto")

    def show(self, groups: list[tuple[str, list[ConversationItem]]], query: str = "") -> None:
        """Draw the grouped items (or the empty state)."""
        self.items.clear()
        self.rows.clear()
        with self.items:
            if not groups:
                ui.label(
                    f"No conversation matches “{query}”." if query else "No conversations yet."
                ).classes("text-sm text-slate-500 p-2")
                return
            for name, members in groups:
                ui.label(name).classes(
                    "text-xs font-semibold uppercase tracking-wide text-slate-500 px-2 pt-3 pb-1"
                )
                for item in members:
                    self._row(item)

    def _row(self, item: ConversationItem) -> None:
        active = item.id == self.active_id
        row = ui.row().classes(
            "w-full items-center gap-1 no-wrap rounded-lg px-2 py-1 group "
            + (
                "bg-indigo-50 dark:bg-indigo-900/40"
                if active
                else "hover:bg-slate-100 dark:hover:bg-slate-800"
            )
        )
        self._row_content(row, item)

    def retitle(self, conversation_id: int, title: str) -> None:
        """Show a conversation's new title (redraws that one item, if it is listed)."""
        if conversation_id in self.rows:
            row, item = self.rows[conversation_id]
            if item.title != title:
                self._row_content(row, dataclasses.replace(item, title=title))

    def _row_content(self, row: ui.row, item: ConversationItem) -> None:
        self.rows[item.id] = (row, item)
        row.clear()
        with row:
            with ui.link(target=f"/chat/{item.id}").classes(
                "flex-1 min-w-0 no-underline text-slate-800 dark:text-slate-100"
            ):
                ui.label(item.title).classes("truncate text-sm font-medium")
                ui.label(f"{item.assistant_name} · {item.updated_at:%H:%M}").classes(
                    "truncate text-xs text-slate-500"
                )
            ui.button(icon="edit", on_click=lambda: self._edit(row, item)).props(
                'flat round dense size=sm aria-label="Rename"'
            ).tooltip("Rename").mark(f"rename-{item.id}")
            ui.button(icon="delete", on_click=lambda: self._confirm_delete(item)).props(
                'flat round dense size=sm aria-label="Delete"'
            ).tooltip("Delete").mark(f"delete-{item.id}")

    def _edit(self, row: ui.row, item: ConversationItem) -> None:
        row.clear()
        with row:
            title = (
                ui.input("Title", value=item.title)
                .props("dense outlined autofocus maxlength=200")
                .classes("flex-1")
            )

            async def save() -> None:
                if await self.actions.on_rename(item.id, title.value or ""):
                    renamed = ConversationItem(
                        item.id,
                        " ".join((title.value or "").split()),
                        item.assistant_name,
                        item.updated_at,
                    )
                    self._row_content(row, renamed)

            title.on("keydown.enter", save)
            title.on("keydown.escape", lambda: self._row_content(row, item))
            ui.button(icon="check", on_click=save).props(
                'flat round dense size=sm aria-label="Save title"'
            ).mark(f"save-title-{item.id}")

    def _confirm_delete(self, item: ConversationItem) -> None:
        with ui.dialog() as dialog, ui.card().classes("gap-3"):
            ui.label(f"Delete “{item.title}”?").classes("text-lg font-medium")
            ui.label("Its messages are deleted too. This cannot be undone.").classes(
                "text-slate-500"
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")

                async def delete() -> None:
                    dialog.close()
                    await self.actions.on_delete(item.id)

                ui.button("Delete", on_click=delete).props("unelevated no-caps color=red")
        dialog.open()
