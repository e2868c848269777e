"""The composer's prompt picker: `/` at the start of the message opens a filterable list.

Up/Down move the highlight, Enter (or a click) takes a prompt, Escape closes the list. A
prompt with `{{variables}}` asks for them first in a small dialog, one labelled field each.
Takes the prompts as data; queries nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.lazy import BuiltOnFirstUse
from services.chat.prompts import PromptItem, fill

SHOWN = 8
# Sent to the server only while the text starts with "/", so normal typing costs nothing.
PICKER_KEYS_JS = (
    "(e) => { if (['ArrowDown', 'ArrowUp', 'Escape'].includes(e.key) "
    "&& (e.target.value || '').startsWith('/')) { e.preventDefault(); emit(e.key); } }"
)
# Typing that leaves the text as it was (a "/" typed over a selected "/" after Escape) sends
# no value change, yet must open the list again: each input to a text with a leading "/" is
# sent once it is in. `beforeinput`, because Quasar keeps a field's `input` listener for itself.
PICKER_INPUT_JS = (
    "(e) => setTimeout(() => { const text = e.target.value || ''; "
    "if (text.startsWith('/')) emit(text); })"
)


class PromptPicker:
    """The list above the composer; `on_insert(text)` puts the chosen (filled) prompt in."""

    def __init__(self, prompts: list[PromptItem], on_insert: Callable[[str], None]) -> None:
        self.prompts = prompts
        self.on_insert = on_insert
        self.matches: list[PromptItem] = []
        self.index = 0
        self.panel = (
            ui.column()
            .classes(
                "w-full gap-0 p-1 rounded-lg border border-slate-200 dark:border-slate-700 "
                "bg-white dark:bg-slate-800 shadow-md max-h-72 overflow-auto"
            )
            .props('role=listbox aria-label="Prompts"')
            .mark("prompt-picker")
        )
        self.panel.visible = False
        self.asking: PromptItem | None = None
        self.fields: dict[str, ui.input] = {}
        self.form = BuiltOnFirstUse(self._variables_dialog)  # only prompts with variables

    @property
    def is_open(self) -> bool:
        """True while the list shows at least one prompt (Enter then picks, not sends)."""
        return self.panel.visible and bool(self.matches)

    def update(self, text: str) -> None:
        """Follow the composer's text: open on a leading `/`, filter by what follows."""
        if not text.startswith("/") or "\n" in text:
            self.close()
            return
        query = text[1:].strip().lower()
        matches = [p for p in self.prompts if query in p.title.lower()][:SHOWN]
        same = [p.id for p in matches] == [p.id for p in self.matches]
        if same and self.panel.visible:
            return  # the value change and the input event of one keystroke: drawn once
        if not same:
            self.index = 0
        self.matches = matches
        self._draw()
        self.panel.visible = True

    def close(self) -> None:
        """Hide the list."""
        self.panel.visible = False
        self.matches = []

    def key(self, name: str) -> None:
        """Up/Down/Escape from the composer."""
        if name == "Escape":
            self.close()
        elif self.matches:
            self.index = (self.index + (1 if name == "ArrowDown" else -1)) % len(self.matches)
            self._draw()

    def choose(self, index: int | None = None) -> None:
        """Take the highlighted (or given) prompt: insert it or ask for its variables."""
        if not self.matches:
            return
        prompt = self.matches[self.index if index is None else index]
        self.close()
        if not prompt.variables:
            self.on_insert(prompt.body)
            return
        self._ask(prompt)

    def _draw(self) -> None:
        self.panel.clear()
        with self.panel:
            if not self.matches:
                ui.label("No prompt matches. Add prompts on the Prompts page.").classes(
                    "text-sm text-slate-500 px-2 py-1"
                )
            for number, prompt in enumerate(self.matches):
                selected = "true" if number == self.index else "false"
                option = (
                    ui.button(on_click=lambda n=number: self.choose(n))
                    .props(f'flat no-caps align=left role=option aria-selected="{selected}"')
                    .classes(
                        "w-full text-left px-2 py-1 rounded "
                        + ("bg-indigo-50 dark:bg-indigo-900/40" if selected == "true" else "")
                    )
                    .mark(f"prompt-option-{prompt.title}")
                )
                with option, ui.column().classes("gap-0 items-start min-w-0 w-full"):
                    ui.label(prompt.title).classes("font-medium truncate")
                    hint = "Team prompt" if prompt.team else "My prompt"
                    if prompt.variables:
                        hint += " · asks for " + ", ".join(prompt.variables)
                    ui.label(hint).classes("text-xs text-slate-500 dark:text-slate-400")

    def _variables_dialog(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
            self.dialog_title = ui.label("").classes("text-lg font-medium")
            ui.label("Fill in the blanks; the prompt goes into your message.").classes(
                "text-sm text-slate-500 dark:text-slate-400"
            )
            self.fields_column = ui.column().classes("w-full gap-2")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Insert prompt", on_click=self._submit).props("unelevated no-caps")

    def _ask(self, prompt: PromptItem) -> None:
        self.form.ensure()
        self.asking = prompt
        self.dialog_title.text = prompt.title
        self.fields_column.clear()
        with self.fields_column:
            self.fields = {
                name: ui.input(name).classes("w-full").on("keydown.enter", self._submit)
                for name in prompt.variables
            }
        # Focused as it mounts: a focus call sent afterwards arrived late on a busy server and
        # took the caret from the field being typed into.
        next(iter(self.fields.values())).props("autofocus")
        self.dialog.open()

    def _submit(self) -> None:
        if self.asking is None:
            return
        values = {name: field.value or "" for name, field in self.fields.items()}
        text = fill(self.asking.body, values)
        self.asking = None
        self.dialog.close()
        self.on_insert(text)
