"""Small dialogs of the conversation list: a name, a folder to move to, a delete confirm."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui


def name_dialog(
    heading: str, value: str, action: str, on_save: Callable[[str], Awaitable[bool]]
) -> None:
    """Ask for a name (Enter saves); the dialog stays open when `on_save` refuses it."""
    with ui.dialog() as dialog, ui.card().classes("gap-3 w-80 max-w-full"):
        ui.label(heading).classes("text-lg font-medium")
        name = (
            ui.input("Folder name", value=value)
            .props("outlined dense autofocus maxlength=100")
            .classes("w-full")
        )

        async def save() -> None:
            if await on_save(name.value or ""):
                dialog.close()

        name.on("keydown.enter", save)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button(action, on_click=save).props("unelevated no-caps")
    dialog.open()


def pick_folder(
    options: dict[int, str],
    on_pick: Callable[[int | None], Awaitable[None]],
    current: int | None = None,
) -> None:
    """Choose a folder (0 in `options` means none) and move there."""
    with ui.dialog() as dialog, ui.card().classes("gap-3 w-80 max-w-full"):
        ui.label("Move to folder").classes("text-lg font-medium")
        choice = (
            ui.select(options, value=current or 0, label="Folder")
            .props("outlined dense options-dense")
            .classes("w-full")
        )

        async def move() -> None:
            dialog.close()
            await on_pick(choice.value or None)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Move", on_click=move).props("unelevated no-caps")
    dialog.open()


def confirm_delete(
    heading: str, detail: str, action: str, on_confirm: Callable[[], Awaitable[None]]
) -> None:
    """A red-button confirmation."""
    with ui.dialog() as dialog, ui.card().classes("gap-3"):
        ui.label(heading).classes("text-lg font-medium")
        ui.label(detail).classes("text-slate-500")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")

            async def confirm() -> None:
                dialog.close()
                await on_confirm()

            ui.button(action, on_click=confirm).props("unelevated no-caps color=red")
    dialog.open()
