"""The conversation list: folders, pins, the archive, search with snippets, multi-select,
inline rename, delete with confirm, and paging ("Load more", clicked by itself on scroll)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from html import escape

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from components.assets import use_static
from components.chat_list_dialogs import confirm_delete, name_dialog, pick_folder
from components.icons import icon_html
from components.lazy import BuiltOnFirstUse
from components.shortcuts import mark_shortcut
from models import Folder
from services.chat.conversations import ConversationItem, ConversationPage, ListScope, group_by_day
from services.chat.search import SearchFilters, SearchHit, SearchPage

ARCHIVED_CHOICES = {"list": "Not archived", "archived": "Archived only", "all": "Everything"}


@dataclass
class ListActions:
    """What the list asks the page for (data) or to do (each returns True when it worked)."""

    load_page: Callable[[ListScope, int], Awaitable[ConversationPage | None]]
    search: Callable[[str, SearchFilters, int], Awaitable[SearchPage | None]]
    load_folders: Callable[[], Awaitable[list[Folder]]]
    on_rename: Callable[[int, str], Awaitable[bool]]
    on_delete: Callable[[list[int]], Awaitable[bool]]
    on_pin: Callable[[int, bool], Awaitable[bool]]
    on_archive: Callable[[list[int], bool], Awaitable[bool]]
    on_move: Callable[[list[int], int | None], Awaitable[bool]]
    on_folder_create: Callable[[str], Awaitable[bool]]
    on_folder_rename: Callable[[int, str], Awaitable[bool]]
    on_folder_delete: Callable[[int], Awaitable[bool]]
    on_new: Callable[[int, bool], None]  # (assistant id, temporary)


def new_chat_picker(assistants: list[tuple[int, str]], on_new: Callable[[int, bool], None]) -> None:
    """`New chat` and `Temporary chat` with an assistant picker (or a link to create one)."""
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
    with ui.row().classes("w-full gap-1 no-wrap"):
        button = ui.button("New chat", icon="add", on_click=lambda: on_new(picker.value, False))
        button.props("unelevated no-caps").classes("flex-1")
        mark_shortcut(button, "new-chat")
        temporary = ui.button(icon="visibility_off", on_click=lambda: on_new(picker.value, True))
        # The hover hint is the native `title`: one element, not two.
        temporary.props('outline no-caps aria-label="Temporary chat"')
        temporary.props["title"] = "Temporary chat: not kept in history, deleted when you leave"


class ConversationList:
    """The left column of the chat page; `show(page)` draws the first page of the list."""

    def __init__(
        self,
        assistants: list[tuple[int, str]],
        folders: list[Folder],
        active_id: int | None,
        actions: ListActions,
    ) -> None:
        use_static("chat_list.css", "chat_list_more.js")
        self.assistants = assistants
        self.folders = folders
        self.active_id = active_id
        self.actions = actions
        self.scope = ListScope()
        self.items: list[ConversationItem] = []
        self.hits: list[SearchHit] = []
        self.recent_only = False  # the search ranked only the newest of many matches
        self.has_more = False
        self.selecting = False
        self.selected: set[int] = set()
        self.dragged: int | None = None
        self.rows: dict[int, tuple[ui.row, ConversationItem]] = {}
        self._home = ui.context.slot.parent  # where the list sits outside the phone drawer
        # Hidden on phones, where `drawer_button` opens it as a drawer.
        with ui.column().classes("w-full md:w-72 shrink-0 gap-2 max-md:hidden") as self.root:
            new_chat_picker(assistants, actions.on_new)
            with ui.row().classes("w-full gap-1 no-wrap items-center") as self.search_row:
                self.search = (
                    ui.input("Search conversations")
                    .props("outlined dense clearable debounce=300")
                    .classes("flex-1")
                )
                self.search.on_value_change(lambda _: self.refresh())
                mark_shortcut(self.search, "search")
                self.filter_button = ui.button(icon="tune", on_click=self._toggle_filters).props(
                    'flat round dense aria-label="Search filters"'
                )
            self.filters = BuiltOnFirstUse(self._filters)  # built when first shown
            self.folder_nav = ui.column().classes("w-full gap-0")
            self.toolbar = ui.row().classes("w-full items-center gap-1 no-wrap min-h-8")
            self.list = ui.column().classes("w-full gap-0 max-h-[70vh] overflow-y-auto")
        self._draw_folders()
        self._draw_toolbar()

    def drawer_button(self) -> None:
        """Phones only: a "Conversations" button opening the list as a drawer from the left
        (a dialog, so focus stays inside it and returns to the button when it closes; built
        when first opened)."""
        parts: list[tuple[ui.dialog, ui.card]] = []  # the dialog and its card, once built

        def build() -> None:
            with (
                ui.dialog().props('position=left full-height aria-label="Conversations"') as dialog,
                ui.card().classes("h-full w-[85vw] max-w-sm p-3 rounded-none") as panel,
            ):
                pass
            dialog.on_value_change(closed)
            parts.append((dialog, panel))

        lazy = BuiltOnFirstUse(build)

        def open_drawer() -> None:
            lazy.ensure()
            dialog, panel = parts[0]
            self.root.move(panel)
            self.root.classes(remove="max-md:hidden")
            dialog.open()

        def closed(event: ValueChangeEventArguments) -> None:
            if not event.value:
                self.root.move(self._home, target_index=0)
                self.root.classes(add="max-md:hidden")

        ui.button("Conversations", icon="menu_open", on_click=open_drawer).props(
            "outline no-caps"
        ).classes("md:hidden self-start")

    # ------------------------------------------------------------ filters

    def _filters(self) -> None:
        self.filter_panel = ui.column().classes("w-full gap-1")
        after_search = self.root.default_slot.children.index(self.search_row) + 1
        self.filter_panel.move(self.root, target_index=after_search)
        with self.filter_panel:
            assistants = {0: "Any assistant", **dict(self.assistants)}
            self.f_assistant = ui.select(assistants, value=0, label="Assistant")
            self.f_folder = ui.select(self._folder_options("Any folder"), value=0, label="Folder")
            self.f_archived = ui.select(ARCHIVED_CHOICES, value="list", label="Archived")
            with ui.row().classes("w-full gap-1 no-wrap"):
                self.f_from = ui.input("From").props("type=date dense outlined").classes("flex-1")
                self.f_to = ui.input("To").props("type=date dense outlined").classes("flex-1")
            for field in (self.f_assistant, self.f_folder, self.f_archived):
                field.props("outlined dense options-dense").classes("w-full")
            for field in (self.f_assistant, self.f_folder, self.f_archived, self.f_from, self.f_to):
                field.on_value_change(lambda _: self.refresh())

    def _folder_options(self, none_label: str) -> dict[int, str]:
        return {0: none_label, **{folder.id: folder.name for folder in self.folders}}

    def _toggle_filters(self) -> None:
        if self.filters.built:
            self.filter_panel.set_visibility(not self.filter_panel.visible)
        else:
            self.filters.ensure()  # shown as it is built

    def search_filters(self) -> SearchFilters:
        """The filters as chosen in the panel (bad dates are ignored)."""
        if not self.filters.built:
            return SearchFilters()
        archived = {"list": False, "archived": True, "all": None}[self.f_archived.value or "list"]
        return SearchFilters(
            assistant_id=self.f_assistant.value or None,
            folder_id=self.f_folder.value or None,
            archived=archived,
            date_from=_date(self.f_from.value),
            date_to=_date(self.f_to.value),
        )

    # ------------------------------------------------------------ folders

    def _draw_folders(self) -> None:
        self.folder_nav.clear()
        with self.folder_nav:
            self._nav_row("All chats", "forum", ListScope(), drop_to=None, mark="scope-all")
            for folder in self.folders:
                self._nav_row(
                    folder.name,
                    "folder",
                    ListScope(folder_id=folder.id),
                    drop_to=folder.id,
                    mark=f"folder-{folder.id}",
                    folder=folder,
                )
            self._nav_row(
                "Archived", "inventory_2", ListScope(archived=True), mark="scope-archived"
            )
            ui.button("New folder", icon="create_new_folder", on_click=self._new_folder).props(
                "flat dense no-caps size=sm"
            ).classes("self-start")
        if self.filters.built:
            self.f_folder.set_options(self._folder_options("Any folder"), value=self.f_folder.value)

    def _nav_row(
        self,
        label: str,
        icon: str,
        scope: ListScope,
        drop_to: int | None | bool = False,
        mark: str = "",
        folder: Folder | None = None,
    ) -> None:
        """One entry of the folder list: a single element, or three for a folder (its name,
        and the button of its menu, which is built when first opened)."""
        active = scope == self.scope
        inner = icon_html(icon) + f'<span class="flex-1 truncate text-sm">{escape(label)}</span>'
        row: ui.element
        if folder is None:
            row = ui.html(inner, sanitize=False).classes("flex")
        else:
            with ui.row() as row:
                ui.html(inner, sanitize=False).classes("flex flex-1 min-w-0 items-center gap-2")
                self._folder_button(folder)
        row.classes(
            "w-full items-center gap-2 no-wrap rounded-lg px-2 py-1 cursor-pointer "
            + ("bg-slate-200 dark:bg-slate-700 " if active else "hover:bg-slate-100 ")
            + "dark:hover:bg-slate-800"
        ).mark(mark)
        # By key: a props string would parse quotes in a folder's name.
        row.props.update({"role": "button", "tabindex": "0", "aria-label": label})
        row.on("click", lambda: self.set_scope(scope))
        row.on("keydown.enter", lambda: self.set_scope(scope))
        if drop_to is not False:  # a drop target: "All chats" takes a chat out of its folder
            row.classes("chat-drop-target")
            row.on("dragover.prevent", lambda: row.classes("chat-drop-over"))
            row.on("dragleave", lambda: row.classes(remove="chat-drop-over"))
            row.on("drop.prevent", lambda: self._dropped(row, drop_to))

    def _folder_button(self, folder: Folder) -> None:
        button = ui.button(icon="more_horiz").props("flat round dense size=xs")
        button.mark(f"folder-menu-{folder.id}").props["aria-label"] = (
            f"Folder actions for {folder.name}"
        )

        def build_menu() -> None:
            with button, ui.menu() as menu:
                ui.menu_item("Rename folder", lambda: self._rename_folder(folder))
                ui.menu_item("Delete folder", lambda: self._delete_folder(folder))
            menu.open()  # from now on it opens itself on the button's clicks

        button.on("click.stop", BuiltOnFirstUse(build_menu).ensure)  # .stop: not the row's

    async def _reload_folders(self) -> None:
        self.folders = await self.actions.load_folders()
        if self.scope.folder_id and all(f.id != self.scope.folder_id for f in self.folders):
            self.scope = ListScope()
        self._draw_folders()

    def _new_folder(self) -> None:
        async def create(name: str) -> bool:
            if await self.actions.on_folder_create(name):
                await self._reload_folders()
                return True
            return False

        name_dialog("New folder", "", "Create", create)

    def _rename_folder(self, folder: Folder) -> None:
        async def rename(name: str) -> bool:
            if await self.actions.on_folder_rename(folder.id, name):
                await self._reload_folders()
                return True
            return False

        name_dialog("Rename folder", folder.name, "Save", rename)

    def _delete_folder(self, folder: Folder) -> None:
        async def delete() -> None:
            if await self.actions.on_folder_delete(folder.id):
                await self._reload_folders()
                await self.refresh()

        confirm_delete(
            f"Delete the folder “{folder.name}”?",
            "Its conversations are kept: they move out of the folder.",
            "Delete folder",
            delete,
        )

    async def _dropped(self, row: ui.element, folder_id: int | None) -> None:
        row.classes(remove="chat-drop-over")
        if self.dragged is None:
            return
        ids, self.dragged = [self.dragged], None
        if await self.actions.on_move(ids, folder_id):
            await self.refresh()

    # ------------------------------------------------------------ toolbar, multi-select

    def _draw_toolbar(self) -> None:
        self.toolbar.clear()
        with self.toolbar:
            if not self.selecting:
                ui.button("Select", icon="checklist", on_click=self._toggle_select).props(
                    "flat dense no-caps size=sm"
                )
                return
            ui.label(f"{len(self.selected)} selected").classes("text-xs text-slate-500 flex-1")
            none = not self.selected
            ui.button(icon="drive_file_move", on_click=self._bulk_move).props(
                'flat round dense size=sm aria-label="Move selected" title="Move to folder"'
            ).set_enabled(not none)
            archive = not self.scope.archived
            ui.button(
                icon="archive" if archive else "unarchive",
                on_click=lambda: self._bulk_archive(archive),
            ).props(
                f'flat round dense size=sm aria-label="{"Archive" if archive else "Unarchive"} '
                'selected"'
            ).set_enabled(not none)
            ui.button(icon="delete", on_click=self._bulk_delete).props(
                'flat round dense size=sm color=red aria-label="Delete selected"'
            ).set_enabled(not none)
            ui.button(icon="close", on_click=self._toggle_select).props(
                'flat round dense size=sm aria-label="Done selecting"'
            )

    def _toggle_select(self) -> None:
        self.selecting = not self.selecting
        self.selected.clear()
        self._draw_toolbar()
        self._draw_items()

    def _choose(self, conversation_id: int, chosen: bool) -> None:
        (self.selected.add if chosen else self.selected.discard)(conversation_id)
        self._draw_toolbar()

    def _bulk_move(self) -> None:
        async def move(folder_id: int | None) -> None:
            if await self.actions.on_move(sorted(self.selected), folder_id):
                self._toggle_select()
                await self.refresh()

        pick_folder(self._folder_options("No folder"), move)

    async def _bulk_archive(self, archived: bool) -> None:
        if await self.actions.on_archive(sorted(self.selected), archived):
            self._toggle_select()
            await self.refresh()

    def _bulk_delete(self) -> None:
        count = len(self.selected)

        async def delete() -> None:
            if await self.actions.on_delete(sorted(self.selected)):
                self._toggle_select()
                await self.refresh()

        confirm_delete(
            f"Delete {count} conversation{'s' if count != 1 else ''}?",
            "Their messages are deleted too. This cannot be undone.",
            "Delete",
            delete,
        )

    # ------------------------------------------------------------ the list

    async def set_scope(self, scope: ListScope) -> None:
        """Show all chats, one folder or the archive."""
        self.scope = scope
        self.selected.clear()
        self._draw_folders()
        self._draw_toolbar()
        await self.refresh()

    @property
    def query(self) -> str:
        return (self.search.value or "").strip()

    async def refresh(self) -> None:
        """Reload the first page (of the list, or of the search results)."""
        if self.query:
            page = await self.actions.search(self.query, self.search_filters(), 0)
            if page is not None:
                self.hits, self.has_more = page.hits, page.has_more
                self.recent_only = page.recent_only
        else:
            page = await self.actions.load_page(self.scope, 0)
            if page is not None:
                self.show(page)
                return
        self._draw_items()

    def show(self, page: ConversationPage) -> None:
        """Draw a first page of the list."""
        self.items, self.has_more = list(page.items), page.has_more
        self._draw_items()

    async def load_more(self) -> None:
        """Append the next page (the button at the end, clicked by itself when scrolled to)."""
        if self.query:
            page = await self.actions.search(self.query, self.search_filters(), len(self.hits))
            if page is not None:
                self.hits += page.hits
                self.has_more = page.has_more
        else:
            page = await self.actions.load_page(self.scope, len(self.items))
            if page is not None:
                known = {item.id for item in self.items}
                self.items += [item for item in page.items if item.id not in known]
                self.has_more = page.has_more
        self._draw_items()

    def _draw_items(self) -> None:
        self.list.clear()
        self.rows.clear()
        with self.list:
            if self.query:
                self._draw_hits()
            elif not self.items:
                ui.label(
                    "Nothing archived."
                    if self.scope.archived
                    else "This folder is empty."
                    if self.scope.folder_id
                    else "No conversations yet."
                ).classes("text-sm text-slate-500 p-2")
            else:
                for name, members in group_by_day(self.items):
                    ui.label(name).classes(
                        "text-xs font-semibold uppercase tracking-wide text-slate-500 "
                        "px-2 pt-3 pb-1"
                    )
                    for item in members:
                        self._row(item)
            if self.has_more:
                ui.button("Load more", on_click=self.load_more).props(
                    "flat dense no-caps data-load-more"
                ).classes("self-center")

    def _draw_hits(self) -> None:
        if not self.hits:
            ui.label(f"No conversation matches “{self.query}”.").classes(
                "text-sm text-slate-500 p-2"
            )
        for hit in self.hits:
            # One element per hit: a link of plain HTML. The snippet is escaped in the
            # service (only its <mark> tags are markup); the rest is escaped here.
            link = ui.html(
                f'<div class="truncate text-sm font-medium">{escape(hit.title)}</div>'
                '<div class="chat-snippet text-xs text-slate-600 dark:text-slate-300 '
                f'line-clamp-3">{hit.snippet_html}</div>'
                '<div class="truncate text-xs text-slate-500">'
                f"{escape(hit.assistant_name)} · {hit.updated_at:%Y-%m-%d}</div>",
                sanitize=False,
                tag="a",
            )
            link.classes(
                "block w-full no-underline text-slate-800 dark:text-slate-100 rounded-lg px-2 "
                "py-1 hover:bg-slate-100 dark:hover:bg-slate-800"
            ).mark(f"hit-{hit.conversation_id}").props["href"] = f"/chat/{hit.conversation_id}"
        if self.recent_only:  # too many matches to rank them all: say so
            ui.label(
                "Many messages match: these are the best of the most recent ones. "
                "Add a word or a date range to search further back."
            ).classes("text-xs text-slate-500 p-2").mark("search-recent-only")

    def _row(self, item: ConversationItem) -> None:
        active = item.id == self.active_id
        row = (
            ui.row()
            .classes(
                "w-full items-center gap-1 no-wrap rounded-lg px-2 py-1 group "
                + (
                    "bg-indigo-50 dark:bg-indigo-900/40"
                    if active
                    else "hover:bg-slate-100 dark:hover:bg-slate-800"
                )
            )
            .props("draggable=true")
            .mark(f"conversation-{item.id}")
        )
        row.on("dragstart", lambda: setattr(self, "dragged", item.id))
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
            if self.selecting:
                ui.checkbox(
                    value=item.id in self.selected,
                    on_change=lambda e: self._choose(item.id, e.value),
                ).props(f'dense aria-label="Select {item.title}"').mark(f"select-{item.id}")
            # The link, its title and subtitle are one element of plain HTML (user text
            # escaped): each element costs every open tab server memory.
            pin = icon_html("push_pin", "shrink-0 text-indigo-500", "Pinned") if item.pinned else ""
            link = ui.html(
                f'<span class="flex items-center gap-1">{pin}'
                f'<span class="truncate text-sm font-medium">{escape(item.title)}</span></span>'
                '<span class="block truncate text-xs text-slate-600 dark:text-slate-400">'
                f"{escape(item.assistant_name)} · {item.updated_at:%H:%M}</span>",
                sanitize=False,
                tag="a",
            )
            link.classes("flex-1 min-w-0 no-underline text-slate-800 dark:text-slate-100")
            link.props["href"] = f"/chat/{item.id}"
            rename = ui.button(icon="edit", on_click=lambda: self._edit(row, item))
            delete = ui.button(icon="delete", on_click=lambda: self._confirm_delete(item))
            for button, verb in ((rename, "Rename"), (delete, "Delete")):
                # The hover hint is the native `title`: one element per button, not two.
                button.props(f"flat round dense size=sm title={verb}")
                # By key: a props string would parse quotes in the title.
                button.props["aria-label"] = f"{verb} {item.title}"
            rename.mark(f"rename-{item.id}")
            delete.mark(f"delete-{item.id}")
            more = ui.button(icon="more_vert").props("flat round dense size=sm")
            more.mark(f"more-{item.id}").props["aria-label"] = f"More actions for {item.title}"
            more.on_click(BuiltOnFirstUse(lambda: self._more_menu(more, item)).ensure)

    def _more_menu(self, more: ui.button, item: ConversationItem) -> None:
        """A row's Pin / Move / Archive menu, built when first opened (most rows never are)."""
        with more, ui.menu() as menu:
            ui.menu_item("Unpin" if item.pinned else "Pin", lambda: self._pin(item))
            ui.menu_item("Move to folder…", lambda: self._move_one(item))
            ui.menu_item(
                "Unarchive" if item.archived else "Archive",
                lambda: self._archive_one(item),
            )
        menu.open()  # from now on it opens itself on the button's clicks

    async def _pin(self, item: ConversationItem) -> None:
        if await self.actions.on_pin(item.id, not item.pinned):
            await self.refresh()

    def _move_one(self, item: ConversationItem) -> None:
        async def move(folder_id: int | None) -> None:
            if await self.actions.on_move([item.id], folder_id):
                await self.refresh()

        pick_folder(self._folder_options("No folder"), move, item.folder_id)

    async def _archive_one(self, item: ConversationItem) -> None:
        if await self.actions.on_archive([item.id], not item.archived):
            await self.refresh()

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
                    renamed = " ".join((title.value or "").split())
                    self._row_content(row, dataclasses.replace(item, title=renamed))

            title.on("keydown.enter", save)
            title.on("keydown.escape", lambda: self._row_content(row, item))
            ui.button(icon="check", on_click=save).props(
                'flat round dense size=sm aria-label="Save title"'
            ).mark(f"save-title-{item.id}")

    def _confirm_delete(self, item: ConversationItem) -> None:
        async def delete() -> None:
            await self.actions.on_delete([item.id])

        confirm_delete(
            f"Delete “{item.title}”?",
            "Its messages are deleted too. This cannot be undone.",
            "Delete",
            delete,
        )


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
