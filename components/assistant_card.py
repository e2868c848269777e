"""One assistant in the list: what it is, what it uses, and what you can do with it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nicegui import ui

from components.assistant_form import TOOL_ICONS
from services.assistants.manage import TOOL_LABELS, AssistantSummary


def time_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago', or a date; 'never' for None."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:  # SQLite and MariaDB hand back naive UTC
        moment = moment.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 86400 * 30:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''} ago"
    return moment.strftime("%d %b %Y")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _stat(icon: str, text: str) -> None:
    with ui.row().classes("items-center gap-1 text-xs text-slate-500 dark:text-slate-400"):
        ui.icon(icon, size="xs")
        ui.label(text)


def assistant_card(
    item: AssistantSummary,
    *,
    on_chat: Callable[[AssistantSummary], object],
    on_edit: Callable[[AssistantSummary], object],
    on_duplicate: Callable[[AssistantSummary], object],
    on_delete: Callable[[AssistantSummary], object],
) -> ui.card:
    """A card; Edit becomes View for a teammate's shared assistant, Delete only for editors."""
    with (
        ui.card()
        .classes(
            "w-full p-4 gap-3 justify-between hover:shadow-md transition-shadow "
            "dark:bg-slate-800 border border-slate-200 dark:border-slate-700"
        )
        .props("flat") as card
    ):
        with ui.column().classes("w-full gap-2"):
            with ui.row().classes("w-full items-start justify-between gap-2 flex-nowrap"):
                with ui.row().classes("items-center gap-2 min-w-0 flex-nowrap"):
                    with ui.element("div").classes(
                        "shrink-0 w-9 h-9 rounded-lg flex items-center justify-center "
                        "bg-indigo-100 text-indigo-700 dark:bg-indigo-900/50 dark:text-indigo-200"
                    ):
                        ui.icon("smart_toy", size="sm")
                    ui.label(item.name).classes(
                        "text-base font-semibold truncate text-slate-800 dark:text-slate-100"
                    )
                if item.shared:
                    badge = "Shared" if item.is_mine else f"Shared by {item.owner_name}"
                    ui.badge(badge).props("outline color=primary").classes("shrink-0")
                else:
                    ui.badge("Private").props("outline color=grey-8").classes("shrink-0")
            ui.label(item.description or "No description").classes(
                "text-sm text-slate-600 dark:text-slate-300 line-clamp-2 min-h-10"
                + ("" if item.description else " italic text-slate-400")
            )
            with ui.row().classes("items-center gap-2 flex-wrap"):
                ui.badge(item.model_label).props("color=indigo-1 text-color=indigo-9").classes(
                    "dark:bg-indigo-900 dark:text-indigo-100"
                )
                for tool in item.tools:
                    ui.icon(TOOL_ICONS[tool], size="xs").classes("text-indigo-500").tooltip(
                        TOOL_LABELS[tool]
                    ).props(f'aria-label="{TOOL_LABELS[tool]}" role="img"')
            with ui.row().classes("items-center gap-x-4 gap-y-1 flex-wrap"):
                _stat("description", _plural(item.knowledge_files, "file"))
                _stat("forum", _plural(item.conversations, "chat"))
                _stat("schedule", f"Used {time_ago(item.last_used_at)}")
        with ui.row().classes(
            "w-full items-center gap-1 pt-2 border-t border-slate-100 dark:border-slate-700"
        ):
            ui.button("Chat", icon="chat", on_click=lambda: on_chat(item)).props(
                "unelevated dense no-caps"
            ).classes("px-3").mark(f"chat-{item.id}")
            ui.button(
                "Edit" if item.can_edit else "View",
                icon="edit" if item.can_edit else "visibility",
                on_click=lambda: on_edit(item),
            ).props("flat dense no-caps").mark(f"edit-{item.id}")
            ui.button("Duplicate", icon="content_copy", on_click=lambda: on_duplicate(item)).props(
                "flat dense no-caps"
            ).mark(f"duplicate-{item.id}")
            if item.can_edit:
                ui.button("Delete", icon="delete", on_click=lambda: on_delete(item)).props(
                    "flat dense no-caps color=negative"
                ).classes("ml-auto").mark(f"delete-{item.id}")
    card.mark(f"assistant-{item.id}")
    return card
