"""Assistant pages: the list at `/assistants`, the form at `/assistants/new` and `/{id}`."""

from __future__ import annotations

from nicegui import run, ui

from components.assistant_card import assistant_card
from components.assistant_form import AssistantForm
from components.feedback import feedback_section
from components.file_drop import DropItem, FileDrop
from components.heading import heading
from components.layout import not_found_view
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from models import Role, User
from pages.shell import signed_in_page
from services.accounts import groups
from services.assistants import knowledge
from services.assistants import manage as assistants
from services.assistants.knowledge import KnowledgeFile
from services.assistants.manage import AssistantInput, AssistantSummary
from services.chat import feedback
from services.files import uploads
from services.usage import spend

SORT_OPTIONS = {"recent": "Recently used", "name": "Name"}
SEARCH_DEBOUNCE_SECONDS = 0.3
POLL_SECONDS = 1.0
DELETE_NOTE = (
    "Its knowledge files are deleted at the model provider too. Conversations with it are "
    "kept: everyone can still read theirs, but no new messages can be sent in them."
)


def chat_url(assistant_id: int) -> str:
    """Where `Chat` goes: the chat page starts a new conversation with the assistant."""
    return f"/chat/new?assistant={assistant_id}"


# ---------------------------------------------------------------- list


class AssistantList:
    """Search box, sort, and the refreshable grid of cards."""

    def __init__(self, user: User, items: list[AssistantSummary]) -> None:
        self.user = user
        self.items = items
        self.query = ""
        self.sort = "recent"
        self.total = len(items)
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            heading("Assistants").classes("grow")
            ui.button(
                "New assistant", icon="add", on_click=lambda: ui.navigate.to("/assistants/new")
            ).props("unelevated")
        with ui.row().classes("w-full items-center gap-3 flex-wrap sm:flex-nowrap"):
            self.search = (
                ui.input("Search", placeholder="Name or description")
                .props('outlined dense clearable debounce=300 type=search aria-label="Search"')
                .classes("grow min-w-48")
                .on_value_change(self._search_changed)
            )
            with self.search.add_slot("prepend"):
                ui.icon("search")
            ui.select(
                SORT_OPTIONS, label="Sort", value=self.sort, on_change=self._sort_changed
            ).props("outlined dense").classes("w-44")
        self.grid = ui.refreshable(self._grid)
        self.grid()
        self._build_delete_dialog()

    async def reload(self) -> None:
        """Ask the service again with the current search and sort."""
        self.items = await run.io_bound(
            assistants.list_assistants, self.user, self.query, self.sort
        )
        if not self.query:
            self.total = len(self.items)
        self.grid.refresh()

    async def _search_changed(self, event: object) -> None:
        self.query = (self.search.value or "").strip()
        await self.reload()

    async def _sort_changed(self, event: object) -> None:
        self.sort = getattr(event, "value", "recent") or "recent"
        await self.reload()

    def _grid(self) -> None:
        if not self.items:
            self._empty()
            return
        with ui.element("div").classes(
            "w-full grid grid-cols-1 md:grid-cols-2 xl:grid-cols-3 gap-4"
        ):
            for item in self.items:
                assistant_card(
                    item,
                    on_chat=lambda it: ui.navigate.to(chat_url(it.id)),
                    on_edit=lambda it: ui.navigate.to(f"/assistants/{it.id}"),
                    on_duplicate=self._duplicate,
                    on_delete=self._confirm_delete,
                )

    def _empty(self) -> None:
        with ui.column().classes(
            "w-full items-center text-center gap-3 py-16 rounded-xl border-2 border-dashed "
            "border-slate-200 dark:border-slate-700"
        ):
            if self.query:
                ui.icon("search_off", size="3rem").classes("text-slate-400")
                ui.label(f"No assistants match “{self.query}”.").classes("text-lg font-medium")
                ui.button("Clear search", on_click=lambda: self.search.set_value("")).props("flat")
                return
            ui.icon("smart_toy", size="3rem").classes("text-indigo-400")
            ui.label("No assistants yet").classes("text-lg font-medium")
            ui.label(
                "An assistant is a model with instructions, tools and knowledge files. "
                "Build one, then chat with it or share it with your team."
            ).classes("text-slate-500 dark:text-slate-400 max-w-md")
            ui.button(
                "New assistant", icon="add", on_click=lambda: ui.navigate.to("/assistants/new")
            ).props("unelevated")

    async def _duplicate(self, item: AssistantSummary) -> None:
        try:
            copy = await run.io_bound(assistants.duplicate_assistant, self.user, item.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        note = " Knowledge files are not copied." if item.knowledge_files else ""
        ui.notify(f"Created “{copy.name}”, a private copy.{note}", type="positive")
        await self.reload()

    def _build_delete_dialog(self) -> None:
        """One confirmation dialog, reused for every card."""
        self.pending_delete: AssistantSummary | None = None
        with ui.dialog() as self.delete_dialog, ui.card().classes("p-6 gap-3 max-w-md"):
            self.delete_title = ui.label().classes("text-lg font-semibold")
            ui.label(DELETE_NOTE).classes("text-slate-600 dark:text-slate-300")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.delete_dialog.close).props("flat")
                self.delete_button = ui.button(
                    "Delete assistant", icon="delete", on_click=self._delete
                ).props("unelevated color=negative")

    def _confirm_delete(self, item: AssistantSummary) -> None:
        self.pending_delete = item
        self.delete_title.set_text(f"Delete “{item.name}”?")
        self.delete_dialog.open()

    async def _delete(self) -> None:
        item = self.pending_delete
        if item is None:
            return
        self.delete_button.disable()
        self.delete_button.props("loading")
        try:
            await run.io_bound(assistants.delete_assistant, self.user, item.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative", multi_line=True)
            return
        finally:
            self.delete_button.enable()
            self.delete_button.props(remove="loading")
        self.pending_delete = None
        self.delete_dialog.close()
        ui.notify(f"Deleted “{item.name}”.", type="positive")
        await self.reload()


@signed_in_page("/assistants", "Assistants")
async def assistants_page(user: User) -> None:
    """My assistants and the team's shared ones."""
    items = await run.io_bound(assistants.list_assistants, user)
    AssistantList(user, items)


# ---------------------------------------------------------------- form


def _drop_item(file: KnowledgeFile) -> DropItem:
    return DropItem(file.id, file.name, file.size, file.status.value, file.error)


def knowledge_section(
    user: User, assistant_id: int | None, files: list[KnowledgeFile], editable: bool
) -> None:
    """Knowledge files: drop zone, per-file status chips, polling while files process."""
    ui.label("Knowledge files").classes("text-sm font-semibold mt-2")
    if assistant_id is None:
        ui.label("Save the assistant first, then add files for File search here.").classes(
            "text-xs text-slate-500 dark:text-slate-400"
        )
        return
    refusal = knowledge.documents_refusal()
    if refusal and not files:
        ui.label(f"{refusal} File search needs the provider's Files API (LLM_FILES).").classes(
            "text-xs text-amber-700 dark:text-amber-300"
        )
        return

    async def upload(name: str, data: bytes) -> DropItem:
        return _drop_item(await knowledge.add_file(user, assistant_id, name, data))

    async def remove(item: DropItem) -> None:
        await knowledge.remove_file(user, assistant_id, item.key)
        ui.notify(f"Removed {item.name}.")

    extensions = ",".join(f".{ext}" for ext in uploads.DOCUMENT_EXTENSIONS)
    drop = FileDrop(
        on_upload=upload,
        on_remove=remove if editable else None,
        items=[_drop_item(file) for file in files],
        hint=(
            f"PDF, Word, PowerPoint, text, Markdown, HTML, CSV, JSON or code; up to "
            f"{uploads.max_file_bytes() // (1024 * 1024)} MB each."
        ),
        accept=extensions,
        max_file_bytes=uploads.max_file_bytes(),
        read_only=not editable,
    )

    async def poll() -> None:
        if not drop.waiting_for_server:
            return
        try:
            fresh = await knowledge.refresh_statuses(user, assistant_id)
        except ServiceError:
            return
        drop.set_items([_drop_item(file) for file in fresh])

    ui.timer(POLL_SECONDS, poll)


def _forecast_line(forecast: spend.Forecast) -> None:
    """The month-end forecast of the assistant's spend, in the dashboard's words."""
    reaches_cap = forecast.cap_day is not None
    tone = (
        "bg-amber-50 text-amber-900 dark:bg-amber-900/30 dark:text-amber-100"
        if reaches_cap
        else "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200"
    )
    with ui.row().classes(f"w-full items-center gap-2 px-3 py-2 rounded-lg text-sm {tone}"):
        ui.icon("trending_up", size="xs")
        text = (
            forecast.sentence("this assistant")
            if forecast.month_end_micros
            else "No spend on this assistant this month yet."
        )
        ui.label(text).mark("assistant-forecast")


async def _show_form(user: User, assistant_id: int | None) -> None:
    """The shared body of the new and edit pages (inside the shell)."""
    read_only = False
    files: list[KnowledgeFile] = []
    forecast: spend.Forecast | None = None
    ratings: feedback.AssistantFeedback | None = None
    budget_locked = False
    owner_note = ""
    if assistant_id is None:
        initial = AssistantInput(name="")
    else:
        try:
            record = await run.io_bound(assistants.get_assistant_for_use, user, assistant_id)
            files = await run.io_bound(knowledge.list_files, user, assistant_id)
        except NotFound:
            not_found_view()
            return
        read_only = not assistants.can_edit(user, record)
        initial = AssistantInput.from_assistant(record)
        initial.group_ids = await run.io_bound(assistants.shared_with_groups, user, assistant_id)
        budget_locked = not read_only and not assistants.may_change_budget(user, record)
        if not read_only:  # the forecast and the feedback are for its owner and admins only
            forecast = await run.io_bound(spend.assistant_forecast, user, assistant_id)
            ratings = await run.io_bound(feedback.assistant_feedback, user, assistant_id)
        if read_only:
            owner_note = "Shared with the team. Only its owner or an admin can change it."
    title = "New assistant" if assistant_id is None else initial.name
    with ui.row().classes("w-full items-center gap-2 flex-wrap"):
        ui.button(icon="arrow_back", on_click=lambda: form.leave()).props(
            'flat round aria-label="Back to assistants"'
        )
        title_heading = heading(title).classes("grow truncate")
        if assistant_id is not None:
            ui.button(
                "Chat", icon="chat", on_click=lambda: ui.navigate.to(chat_url(assistant_id))
            ).props("unelevated no-caps")
    if owner_note:
        with ui.row().classes(
            "w-full items-center gap-2 px-3 py-2 rounded-lg text-sm bg-sky-50 text-sky-900 "
            "dark:bg-sky-900/30 dark:text-sky-100"
        ):
            ui.icon("visibility", size="xs")
            ui.label(owner_note)
    if forecast is not None:
        _forecast_line(forecast)

    async def save(data: AssistantInput) -> None:
        try:
            if assistant_id is None:
                created = await run.io_bound(assistants.create_assistant, user, data)
            else:
                saved = await run.io_bound(assistants.update_assistant, user, assistant_id, data)
        except ValidationError as exc:
            form.show_error(str(exc), exc.field)
            return
        except (NotFound, PermissionDenied) as exc:
            form.show_error(str(exc), None)
            return
        if assistant_id is None:
            form.mark_saved(data)
            ui.notify(f"Created “{created.name}”.", type="positive")
            ui.navigate.to(f"/assistants/{created.id}")
            return
        form.mark_saved(data)
        title_heading.set_text(saved.name)
        ui.notify("Saved.", type="positive")

    form = AssistantForm(
        initial,
        assistants.model_choices(initial.model),
        assistants.tool_notes(),
        assistants.tool_support,
        on_save=None if read_only else save,
        on_leave=lambda: ui.navigate.to("/assistants"),
        custom_models=user.role == Role.admin,
        budget_locked=budget_locked,
        group_choices=await run.io_bound(groups.group_choices, user),
    )
    with form.knowledge_area:
        knowledge_section(user, assistant_id, files, editable=not read_only)
    if ratings is not None:
        feedback_section(ratings)


@signed_in_page("/assistants/new", "Assistants")
async def new_assistant_page(user: User) -> None:
    """An empty form."""
    await _show_form(user, None)


@signed_in_page("/assistants/{assistant_id}", "Assistants")
async def edit_assistant_page(user: User, assistant_id: str) -> None:
    """Edit an assistant (read-only for a teammate's shared one; 404 when not visible)."""
    if not assistant_id.isdecimal():
        not_found_view()
        return
    await _show_form(user, int(assistant_id))
