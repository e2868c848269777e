"""The chat page's conversation list: the glue between `components.chat_list` and the
conversation, folder and search services (each call checks the user itself).

`pages/chat.py` calls `conversation_sidebar` inside its two-column layout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import run, ui

from components.chat_list import ConversationList, ListActions
from core.errors import AuthError, ServiceError
from models import Folder, User
from services.chat import conversations, folders, search
from services.chat import turn as chat
from services.chat.conversations import ConversationPage, ListScope


async def _call(fn: Callable[..., Any], *args: Any, done: str = "") -> tuple[bool, Any]:
    """Run a service call off the loop; a refusal becomes a notice (and sign-in if revoked)."""
    try:
        result = await run.io_bound(fn, *args)
    except ServiceError as exc:
        ui.notify(str(exc), type="negative")
        if isinstance(exc, AuthError):
            ui.navigate.to("/login")
        return False, None
    if done:
        ui.notify(done)
    return True, result


def conversation_sidebar(
    user: User,
    assistants: list[tuple[int, str]],
    folder_list: list[Folder],
    first_page: ConversationPage,
    active_id: int | None,
    on_renamed: Callable[[int, str], None],
) -> ConversationList:
    """Draw the list with its first page; `on_renamed` hears about renames made in it."""

    async def load_page(scope: ListScope, offset: int) -> ConversationPage | None:
        return (await _call(conversations.list_conversations, user, scope, offset))[1]

    async def run_search(
        query: str, filters: search.SearchFilters, offset: int
    ) -> search.SearchPage | None:
        return (await _call(search.search_conversations, user, query, filters, offset))[1]

    async def load_folders() -> list[Folder]:
        ok, found = await _call(folders.list_folders, user)
        return found if ok else folder_list

    async def on_rename(conversation_id: int, title: str) -> bool:
        ok, saved = await _call(
            conversations.rename_conversation, user, conversation_id, title, done="Renamed"
        )
        if ok:
            on_renamed(conversation_id, saved.title)
        return ok

    async def on_delete(conversation_ids: list[int]) -> bool:
        for conversation_id in conversation_ids:
            chat.stop_conversation(user, conversation_id)
        ok, count = await _call(folders.delete_conversations, user, conversation_ids)
        if not ok:
            return False
        ui.notify("Conversation deleted" if count == 1 else f"{count} conversations deleted")
        if active_id in conversation_ids:
            ui.navigate.to("/chat")
        else:
            await chat_list.refresh()
        return True

    def done(action: Callable[..., Any], message: str) -> Callable[..., Awaitable[bool]]:
        async def call(*args: Any) -> bool:
            return (await _call(action, user, *args, done=message))[0]

        return call

    async def on_pin(conversation_id: int, pinned: bool) -> bool:
        notice = "Pinned" if pinned else "Unpinned"
        return (await _call(folders.set_pinned, user, conversation_id, pinned, done=notice))[0]

    async def on_archive(conversation_ids: list[int], archived: bool) -> bool:
        notice = "Archived" if archived else "Back in the list"
        return (await _call(folders.set_archived, user, conversation_ids, archived, done=notice))[0]

    def on_new(assistant_id: int, temporary: bool) -> None:
        suffix = "&temporary=1" if temporary else ""
        ui.navigate.to(f"/chat/new?assistant={assistant_id}{suffix}")

    actions = ListActions(
        load_page=load_page,
        search=run_search,
        load_folders=load_folders,
        on_rename=on_rename,
        on_delete=on_delete,
        on_pin=on_pin,
        on_archive=on_archive,
        on_move=done(folders.move_conversations, "Moved"),
        on_folder_create=done(folders.create_folder, "Folder created"),
        on_folder_rename=done(folders.rename_folder, "Folder renamed"),
        on_folder_delete=done(folders.delete_folder, "Folder deleted"),
        on_new=on_new,
    )
    chat_list = ConversationList(assistants, folder_list, active_id, actions)
    chat_list.show(first_page)
    return chat_list
