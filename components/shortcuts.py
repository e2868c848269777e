"""The keyboard shortcuts: the list shown by `?` (and the header's keyboard button).

The keys themselves are handled in the browser by `static/shortcuts.js`, which finds its
targets by their `data-shortcut` attribute (see `SHORTCUT_TARGETS`).
"""

from __future__ import annotations

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from components.assets import use_static
from components.heading import heading
from components.lazy import BuiltOnFirstUse

SHORTCUTS = (
    ("Ctrl/⌘ + K", "Find a conversation"),
    ("Ctrl + Shift + O", "Start a new chat"),
    ("Esc", "Stop a streaming reply"),
    ("↑ in an empty message box", "Edit your last message"),
    ("Enter / Shift + Enter", "Send / new line"),
    ("?", "Show this list"),
)


def mark_shortcut(element: ui.element, name: str) -> ui.element:
    """Make `element` the target of a shortcut in `static/shortcuts.js` (search, new-chat, stop,
    composer, conversations)."""
    element.props(f"data-shortcut={name}")
    return element


def shortcuts_button() -> None:
    """A header button opening the list of shortcuts; `?` anywhere outside a field opens it.

    The list is built when first opened: every page has the button, few pages open it.
    """
    use_static("shortcuts.js")
    dialog: ui.dialog | None = None

    def build() -> None:
        nonlocal dialog
        with ui.dialog() as dialog, ui.card().classes("w-full max-w-md gap-3"):
            heading("Keyboard shortcuts", level=2)
            with ui.element("dl").classes(
                "w-full grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm"
            ):
                for keys, action in SHORTCUTS:
                    TextElement(tag="dt", text=keys).classes("font-mono font-medium")
                    TextElement(tag="dd", text=action).classes("text-slate-700 dark:text-slate-200")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat no-caps")
        dialog.props('aria-label="Keyboard shortcuts"')

    lazy = BuiltOnFirstUse(build)

    def open_list() -> None:
        lazy.ensure()
        dialog.open()

    button = ui.button(icon="keyboard", on_click=open_list).props(
        'flat round aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)"'
    )
    mark_shortcut(button, "help")
