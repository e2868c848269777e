"""The conversation list: grouped by day, search, inline rename, delete with confirm."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from components.shortcuts import mark_shortcut
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
    button = ui.button("New chat", icon="add", on_click=lambda: on_new(picker.value))
    button.props("unelevated no-caps").classes("w-full")
    mark_shortcut(button, "new-chat")


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
        self._home = ui.context.slot.parent  # where the list sits outside the phone drawer
        # Hidden on phones, where `drawer_button` opens it as a drawer.
        with ui.column().classes("w-full md:w-72 shrink-0 gap-2 max-md:hidden") as self.root:
            new_chat_picker(assistants, actions.on_new)
            self.search = (
                ui.input("Search conversations", value=query)
                .props("outlined dense clearable debounce=300")
                .classes("w-full")
            )
            self.search.on_value_change(lambda e: actions.on_search(e.value or ""))
            mark_shortcut(self.search, "search")
            self.items = ui.column().classes("w-full gap-0 max-h-[70vh] overflow-y-auto")

    def drawer_button(self) -> None:
        """Phones only: a "Conversations" button opening the list as a drawer from the left
        (a dialog, so focus stays inside it and returns to the button when it closes)."""
        with (
            ui.dialog().props("position=left full-height") as dialog,
            ui.card().classes("h-full w-[85vw] max-w-sm p-3 rounded-none") as panel,
        ):
            pass
        dialog.props('aria-label="Conversations"')

        def open_drawer() -> None:
            self.root.move(panel)
            self.root.classes(remove="max-md:hidden")
            dialog.open()

        def closed(event: ValueChangeEventArguments) -> None:
            if not event.value:
                self.root.move(self._home, target_index=0)
                self.root.classes(add="max-md:hidden")

        dialog.on_value_change(closed)
        ui.button("Conversations", icon="menu_open", on_click=open_drawer).props(
            "outline no-caps"
        ).classes("md:hidden self-start")

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
                    "truncate text-xs text-slate-600 dark:text-slate-400"
                )
            rename = ui.button(icon="edit", on_click=lambda: self._edit(row, item))
            delete = ui.button(icon="delete", on_click=lambda: self._confirm_delete(item))
            for button, verb in ((rename, "Rename"), (delete, "Delete")):
                button.props("flat round dense size=sm").tooltip(verb)
                # By key: a props string would parse quotes in the title.
                button.props["aria-label"] = f"{verb} {item.title}"
            rename.mark(f"rename-{item.id}")
            delete.mark(f"delete-{item.id}")

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
