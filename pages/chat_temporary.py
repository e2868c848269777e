"""A temporary chat's page: says so, and deletes the chat when the page closes."""

from __future__ import annotations

from nicegui import background_tasks, run, ui

from core.config import get_settings
from models import User
from services.chat import generation, temporary
from services.chat import turn as chat


def temporary_chat_notice(user: User, conversation_id: int) -> None:
    """The banner of a temporary chat; leaving the page (or New chat) deletes the chat.

    Its spend stays in the ledger and keeps counting against every budget."""
    hours = get_settings().temporary_chat_hours
    with (
        ui.row()
        .classes("w-full items-center gap-2 p-2 rounded-lg text-sm bg-slate-100 dark:bg-slate-800")
        .mark("temporary-notice")
    ):
        ui.icon("visibility_off", size="xs")
        ui.label(
            "Temporary chat: not kept in your history or search, deleted when you leave this "
            f"page (at the latest after {hours:g} hours). What it costs still counts."
        )

    async def discard() -> None:
        # A reply still running is stopped and settled first, so the ledger bills what it cost.
        chat.stop_conversation(user, conversation_id)
        for running in generation.for_conversation(conversation_id):
            await generation.wait(running.message_id)
        await run.io_bound(temporary.discard_temporary, user, conversation_id)

    ui.context.client.on_delete(
        lambda: background_tasks.create(discard(), name="discard-temporary-chat")
    )
