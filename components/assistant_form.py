"""The assistant editor: name, description, instructions, model, sampling, tools, sharing.

It knows nothing about storage: it takes the starting values and the model catalog choices,
reports changes (`dirty`), and hands an `AssistantInput` to `on_save`. Leaving with unsaved
changes asks first (Cancel) and the browser warns on reload or navigation (`beforeunload`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.assets import use_static
from models import TOOL_NAMES
from services.assistants.manage import (
    MAX_DESCRIPTION,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    REASONING_EFFORT_LABELS,
    TOOL_LABELS,
    AssistantInput,
    ModelChoice,
)

TOOL_ICONS = {
    "web_search": "travel_explore",
    "file_search": "find_in_page",
    "code_interpreter": "terminal",
}
CARD = "w-full p-4 gap-3 dark:bg-slate-800"
HEADING = "text-base font-semibold text-slate-800 dark:text-slate-100"
NOTE = "text-xs text-slate-500 dark:text-slate-400"


def model_caption(choice: ModelChoice) -> str:
    """Price, vision and tools of a model in one line."""
    prices = choice.prices or "Not in the model catalog: cost unknown"
    vision = "vision" if choice.vision else "no vision"
    tools = (
        "tools: " + ", ".join(TOOL_LABELS[tool].lower() for tool in choice.tools)
        if choice.tools
        else "no built-in tools"
    )
    return f"{prices} · {vision} · {tools}"


async def confirm_discard() -> bool:
    """Ask before throwing away unsaved changes; True to discard."""
    with ui.dialog() as dialog, ui.card().classes("p-6 gap-3 max-w-sm"):
        ui.label("Discard unsaved changes?").classes("text-lg font-semibold")
        ui.label("Your changes to this assistant have not been saved.").classes("text-slate-500")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep editing", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button("Discard", on_click=lambda: dialog.submit(True)).props(
                "unelevated color=negative"
            )
    discard = bool(await dialog)
    if not dialog.is_deleted:  # closing the tab meanwhile deletes the whole page
        dialog.delete()
    return discard


class AssistantForm:
    """The form; `knowledge_area` is an empty column shown while File search is on."""

    def __init__(
        self,
        initial: AssistantInput,
        models: list[ModelChoice],
        tool_notes: dict[str, str],
        tool_support: Callable[[str], dict[str, str | None]],
        *,
        on_save: Callable[[AssistantInput], Awaitable[None]] | None,
        on_leave: Callable[[], None],
        custom_models: bool = False,
        budget_locked: bool = False,
        group_choices: dict[int, str] | None = None,
    ) -> None:
        self._initial = initial
        self._group_choices = group_choices or {}
        self._budget_locked = budget_locked
        self._custom_models = custom_models
        self._models = {choice.id: choice for choice in models}
        self._tool_support = tool_support
        self._on_save = on_save
        self._on_leave = on_leave
        self.read_only = on_save is None
        self._dirty = False
        use_static("unsaved_changes.js")
        with ui.element("div").classes("w-full grid grid-cols-1 lg:grid-cols-5 gap-4"):
            with ui.column().classes("lg:col-span-3 gap-4"):
                self._basics(initial)
            with ui.column().classes("lg:col-span-2 gap-4"):
                self._model_card(initial)
                self._tools_card(initial, tool_notes)
                self._sharing_card(initial)
        self.message = ui.label().classes("text-sm text-red-600 dark:text-red-400")
        self.message.set_visibility(False)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Back" if self.read_only else "Cancel", on_click=self.leave).props(
                "flat"
            ).mark("cancel")
            if not self.read_only:
                self.save_button = ui.button("Save", icon="save", on_click=self.save).props(
                    "unelevated"
                )
        self.fields = {
            "name": self.name,
            "description": self.description,
            "instructions": self.instructions,
            "model": self.model,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "reasoning_effort": self.reasoning_effort,
            "monthly_budget": self.monthly_budget,
        }
        for element in [*self.fields.values(), *self.tools.values(), self.shared, self.groups]:
            if self.read_only:
                element.disable()
            element.on_value_change(self._changed)
        self._apply_tool_support()
        self._apply_model_options()

    # ---- building

    def _basics(self, initial: AssistantInput) -> None:
        with ui.card().classes(CARD):
            ui.label("Basics").classes(HEADING)
            self.name = (
                ui.input("Name", value=initial.name)
                .props(f"outlined maxlength={MAX_NAME} counter autofocus")
                .classes("w-full")
                .on("keydown.enter", self.save)
            )
            self.description = (
                ui.textarea("Description", value=initial.description)
                .props(f"outlined autogrow maxlength={MAX_DESCRIPTION} counter rows=2")
                .classes("w-full")
            )
            self.instructions = (
                ui.textarea(
                    "Instructions",
                    value=initial.instructions,
                    placeholder="How should the assistant behave? What should it know?",
                )
                .props(f"outlined maxlength={MAX_INSTRUCTIONS} rows=12")
                .classes("w-full font-mono text-sm")
            )
            self.instructions_count = ui.label().classes(f"{NOTE} -mt-2 self-end")
            self._count_instructions()

    def _model_card(self, initial: AssistantInput) -> None:
        with ui.card().classes(CARD):
            ui.label("Model").classes(HEADING)
            options = {
                choice.id: f"{choice.label} · {choice.prices or 'cost unknown'}"
                for choice in self._models.values()
            }
            self.model = ui.select(
                options,
                label="Model",
                value=initial.model,
                # Admins may type a model id the catalog lacks (its cost shows as unknown).
                new_value_mode="add-unique" if self._custom_models else None,
            ).props("outlined options-dense")
            self.model.classes("w-full")
            self.model_caption = ui.label().classes(NOTE)
            with ui.expansion("Advanced", icon="tune").classes("w-full").props("dense"):
                ui.label("Leave empty to use the model's default.").classes(NOTE)
                self.temperature = (
                    ui.number("Temperature", value=initial.temperature, step=0.1)
                    .props("outlined clearable hint='0 = focused, 2 = creative'")
                    .classes("w-full")
                )
                self.top_p = (
                    ui.number("Top P", value=initial.top_p, step=0.05)
                    .props("outlined clearable hint='Sample from the top share of tokens'")
                    .classes("w-full")
                )
                self.reasoning_effort = (
                    ui.select(
                        dict(REASONING_EFFORT_LABELS),
                        label="Reasoning effort",
                        value=initial.reasoning_effort,
                        clearable=True,
                    )
                    .props("outlined hint='More effort thinks longer and costs more'")
                    .classes("w-full")
                )
                self.sampling_note = ui.label(
                    "This model chooses its own sampling: Temperature and Top P do not apply."
                ).classes(NOTE)
                budget_hint = (
                    "Copied from the original: only its owner or an admin can change it"
                    if self._budget_locked
                    else "Team-wide spend with this assistant per month; empty = no cap"
                )
                self.monthly_budget = (
                    ui.input("Monthly budget (USD)", value=initial.monthly_budget_usd)
                    .props(
                        "outlined clearable inputmode=decimal prefix=$ "
                        f"hint='{budget_hint}'" + (" readonly" if self._budget_locked else "")
                    )
                    .classes("w-full")
                )

    def _tools_card(self, initial: AssistantInput, notes: dict[str, str]) -> None:
        with ui.card().classes(CARD):
            ui.label("Tools").classes(HEADING)
            self.tools: dict[str, ui.switch] = {}
            self.tool_reasons: dict[str, ui.label] = {}
            for tool in TOOL_NAMES:
                with ui.row().classes("w-full items-start gap-2 flex-nowrap"):
                    ui.icon(TOOL_ICONS[tool], size="sm").classes("text-indigo-500 mt-2")
                    with ui.column().classes("gap-0 grow"):
                        self.tools[tool] = ui.switch(TOOL_LABELS[tool], value=tool in initial.tools)
                        ui.label(notes.get(tool, "")).classes(f"{NOTE} ml-2")
                        self.tool_reasons[tool] = ui.label().classes(
                            "text-xs text-amber-700 dark:text-amber-300 ml-2"
                        )
            self.tools_error = ui.label().classes("text-sm text-red-600 dark:text-red-400")
            self.tools_error.set_visibility(False)
            self.knowledge_area = ui.column().classes("w-full gap-2")
            self.knowledge_area.bind_visibility_from(self.tools["file_search"], "value")

    def _sharing_card(self, initial: AssistantInput) -> None:
        with ui.card().classes(CARD):
            ui.label("Sharing").classes(HEADING)
            self.shared = ui.switch("Shared with team", value=initial.shared)
            ui.label(
                "Teammates can see it and chat with it; only you and admins can change it."
            ).classes(NOTE)
            # Offered choices plus any already chosen (an admin may have picked another group).
            choices = {gid: f"group {gid}" for gid in initial.group_ids} | self._group_choices
            self.groups = (
                ui.select(
                    choices,
                    multiple=True,
                    value=list(initial.group_ids),
                    label="Only these groups (empty: the whole team)",
                )
                .props("use-chips")
                .classes("w-full")
            )
            self.groups.bind_visibility_from(self.shared, "value")
            if not choices:
                self.groups.set_visibility(False)

    # ---- state

    def value(self) -> AssistantInput:
        """What Save would store."""
        return AssistantInput(
            name=self.name.value or "",
            description=self.description.value or "",
            instructions=self.instructions.value or "",
            model=self.model.value or "",
            temperature=self.temperature.value,
            top_p=self.top_p.value,
            tools=[tool for tool, switch in self.tools.items() if switch.value],
            shared=bool(self.shared.value),
            monthly_budget_usd=self.monthly_budget.value or "",
            reasoning_effort=self.reasoning_effort.value or None,
            group_ids=sorted(self.groups.value or []) if self.shared.value else [],
        )

    @property
    def dirty(self) -> bool:
        """True when the form differs from what was loaded or last saved."""
        return self._dirty

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            ui.run_javascript(f"window.studioDirty = {'true' if dirty else 'false'}")

    def _changed(self, event: object) -> None:
        # `event` must stay a required parameter: NiceGUI passes no event arguments to a
        # handler whose parameters all have defaults (then no sender, no model reaction).
        sender = getattr(event, "sender", None)
        for element in self.fields.values():
            if element is sender and element.error:
                element.error = None
        if sender is self.model:
            self._apply_tool_support()
            self._apply_model_options()
        self._count_instructions()
        self._set_dirty(self.value() != self._initial)

    def _count_instructions(self) -> None:
        length = len(self.instructions.value or "")
        self.instructions_count.set_text(f"{length:,} / {MAX_INSTRUCTIONS:,} characters")

    def _apply_tool_support(self) -> None:
        choice = self._models.get(self.model.value or "")
        self.model_caption.set_text(model_caption(choice) if choice else "")
        support = self._tool_support(self.model.value or "")
        for tool, switch in self.tools.items():
            reason = support.get(tool)
            if reason:
                switch.set_value(False)
                switch.disable()
            elif not self.read_only:
                switch.enable()
            self.tool_reasons[tool].set_text(reason or "")
            self.tool_reasons[tool].set_visibility(bool(reason))

    def _apply_model_options(self) -> None:
        """Show Temperature / Top P and Reasoning effort only where the model takes them.

        A hidden field is cleared, so Save never stores what the model would refuse.
        """
        choice = self._models.get(self.model.value or "")
        temperature = choice.temperature if choice else True
        top_p = choice.top_p if choice else True
        efforts = choice.reasoning_efforts if choice else ()
        for element, shown in ((self.temperature, temperature), (self.top_p, top_p)):
            element.set_visibility(shown)
            if not shown and element.value is not None:
                element.set_value(None)
        self.sampling_note.set_visibility(not (temperature or top_p))
        self.reasoning_effort.set_options(
            {effort: REASONING_EFFORT_LABELS.get(effort, effort) for effort in efforts},
            value=self.reasoning_effort.value if self.reasoning_effort.value in efforts else None,
        )
        self.reasoning_effort.set_visibility(bool(efforts))

    def mark_saved(self, saved: AssistantInput) -> None:
        """Forget unsaved changes: `saved` is the new baseline."""
        self._initial = saved
        self._set_dirty(self.value() != saved)

    def show_error(self, message: str, field: str | None) -> None:
        """Put a server-side validation message next to its field (or under the form)."""
        if field in self.fields:
            self.fields[field].error = message
            if field in ("temperature", "top_p", "reasoning_effort", "monthly_budget"):
                ui.notify(message, type="warning")
        elif field == "tools":
            self.tools_error.set_text(message)
            self.tools_error.set_visibility(True)
        else:
            self.message.set_text(message)
            self.message.set_visibility(True)

    def clear_errors(self) -> None:
        """Hide every validation message."""
        for element in self.fields.values():
            element.error = None
        self.tools_error.set_visibility(False)
        self.message.set_visibility(False)

    # ---- actions

    async def save(self) -> None:
        """Validate on the server through `on_save`; the button is disabled meanwhile."""
        if self._on_save is None or not self.save_button.enabled:
            return
        self.clear_errors()
        self.save_button.disable()
        self.save_button.props("loading")
        try:
            await self._on_save(self.value())
        finally:
            self.save_button.enable()
            self.save_button.props(remove="loading")

    async def leave(self) -> None:
        """Cancel: go away, asking first if there are unsaved changes."""
        if self._dirty:
            if not await confirm_discard():
                return
            self._set_dirty(False)
        self._on_leave()
