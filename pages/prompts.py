"""The prompt library at `/prompts`: my prompts and the team's (admins curate those)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import run, ui

from components.forms import FormMessage, submit_form
from core.errors import ServiceError
from models import Role, User
from pages.shell import signed_in_page
from services.chat import prompts as library
from services.chat.prompts import PromptItem

HINT = "text-sm text-slate-500 dark:text-slate-400"


class PromptEditor:
    """The New / Edit prompt dialog; saving reloads the list through `on_saved`."""

    def __init__(self, user: User, on_saved: Callable[[], Awaitable[None]]) -> None:
        self.user = user
        self.on_saved = on_saved
        self.editing: PromptItem | None = None
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-xl"):
            self.heading = ui.label("New prompt").classes("text-lg font-medium")
            self.title = ui.input("Title").classes("w-full").props("maxlength=100")
            self.body = (
                ui.textarea("Prompt text", placeholder="Summarize {{topic}} for {{audience}}.")
                .classes("w-full")
                .props("autogrow maxlength=8000")
            )
            ui.label("Write {{name}} where the prompt should ask for a value.").classes(HINT)
            self.team = ui.checkbox("Team prompt (everyone sees it)")
            self.team.visible = user.role == Role.admin
            self.message = FormMessage()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                self.save_button = ui.button(
                    "Save prompt",
                    on_click=lambda: submit_form(
                        self.save_button,
                        {"title": self.title, "body": self.body},
                        self.message,
                        self.save,
                    ),
                ).props("unelevated no-caps")

    def open(self, prompt: PromptItem | None = None, team: bool = False) -> None:
        """Open for a new prompt, or to edit `prompt`."""
        self.editing = prompt
        self.heading.text = "Edit prompt" if prompt else "New prompt"
        self.title.value = prompt.title if prompt else ""
        self.body.value = prompt.body if prompt else ""
        self.team.value = prompt.team if prompt else team
        self.team.set_enabled(prompt is None)
        self.message.clear()
        self.title.error = self.body.error = None
        self.dialog.open()

    async def save(self) -> None:
        """Create or update, then close and reload the list."""
        if self.editing is None:
            await run.io_bound(
                library.create_prompt, self.user, self.title.value, self.body.value, self.team.value
            )
        else:
            await run.io_bound(
                library.update_prompt, self.user, self.editing.id, self.title.value, self.body.value
            )
        self.dialog.close()
        ui.notify("Prompt saved", type="positive")
        await self.on_saved()


@signed_in_page("/prompts", "Prompts")
async def prompts_page(user: User) -> None:
    """List, add, edit and delete prompts; type `/` in the chat composer to use them."""

    async def reload() -> None:
        lists.refresh(await run.io_bound(library.list_prompts, user))

    async def delete(prompt: PromptItem) -> None:
        try:
            await run.io_bound(library.delete_prompt, user, prompt.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify("Prompt deleted")
        await reload()

    editor = PromptEditor(user, reload)

    def prompt_row(prompt: PromptItem) -> None:
        with ui.row().classes(
            "w-full items-start justify-between gap-2 py-2 border-b border-slate-100 "
            "dark:border-slate-700 no-wrap"
        ):
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(prompt.title).classes("font-medium")
                ui.label(prompt.body).classes(
                    f"{HINT} line-clamp-2 whitespace-pre-wrap break-words"
                )
            if prompt.editable:
                with ui.row().classes("gap-0 no-wrap"):
                    ui.button(icon="edit", on_click=lambda p=prompt: editor.open(p)).props(
                        f'flat round dense aria-label="Edit {prompt.title}"'
                    )
                    ui.button(icon="delete", on_click=lambda p=prompt: delete(p)).props(
                        f'flat round dense color=negative aria-label="Delete {prompt.title}"'
                    )

    @ui.refreshable
    def lists(items: list[PromptItem]) -> None:
        for team, heading, empty in (
            (False, "My prompts", "No prompts of your own yet."),
            (True, "Team prompts", "No team prompts yet."),
        ):
            with ui.card().classes("w-full p-5 gap-1 dark:bg-slate-800 shadow-sm"):
                with ui.row().classes("w-full items-center justify-between"):
                    ui.label(heading).classes("text-lg font-medium")
                    if not team or user.role == Role.admin:
                        ui.button(
                            "New team prompt" if team else "New prompt",
                            icon="add",
                            on_click=lambda t=team: editor.open(team=t),
                        ).props("outline no-caps dense")
                members = [p for p in items if p.team == team]
                if not members:
                    ui.label(empty).classes(HINT)
                for prompt in members:
                    prompt_row(prompt)

    ui.label("Prompts").classes("text-2xl font-semibold")
    ui.label(
        "Type / at the start of a chat message to pick one. Team prompts are curated by admins."
    ).classes(HINT)
    with ui.column().classes("w-full max-w-3xl gap-4"):
        lists(await run.io_bound(library.list_prompts, user))
