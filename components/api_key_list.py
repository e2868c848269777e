"""The list of personal API keys (profile: mine; admin: everyone's) and the shown-once dialog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

HINT = "text-sm text-slate-500 dark:text-slate-400"
STATUS_CLASSES = {
    "active": "text-emerald-700 dark:text-emerald-400",
    "revoked": "text-rose-700 dark:text-rose-400",
    "expired": "text-amber-700 dark:text-amber-400",
}


def _when(moment: datetime | None, empty: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else empty


def api_key_list(
    keys: list,
    on_revoke: Callable[[object], Awaitable[None]],
    show_owner: bool = False,
) -> None:
    """One row per key (`KeyInfo`): name, visible prefix, scope, dates, status, Revoke."""
    if not keys:
        ui.label("No API keys yet.").classes(HINT)
        return
    with ui.column().classes("w-full gap-2"):
        for key in keys:
            with ui.row().classes(
                "w-full items-center gap-x-4 gap-y-1 flex-wrap border-b "
                "border-slate-200 dark:border-slate-700 pb-2"
            ):
                with ui.column().classes("gap-0 min-w-0 grow"):
                    title = f"{key.username} · {key.name}" if show_owner else key.name
                    ui.label(title).classes("font-medium break-all")
                    ui.label(
                        f"{key.prefix}… · {'chat' if key.scope == 'chat' else 'read-only'} · "
                        f"created {_when(key.created_at, '')} · "
                        f"expires {_when(key.expires_at, 'never')} · "
                        f"last used {_when(key.last_used_at, 'never')}"
                    ).classes(HINT + " break-all")
                ui.label(key.status).classes(STATUS_CLASSES[key.status] + " text-sm")
                if key.status != "revoked":
                    revoke = ui.button("Revoke", on_click=lambda key=key: on_revoke(key))
                    revoke.props("outline color=negative no-caps")
                    # Set directly: a name never goes through the props parser.
                    revoke.props["aria-label"] = f"Revoke {key.name}"


def show_new_key(name: str, secret: str) -> None:
    """The new key, once: a read-only field, a copy button and the warning."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("p-5 gap-3 max-w-lg"):
        ui.label(f"Your new key “{name}”").classes("text-lg font-medium")
        ui.label(
            "Copy it now: you won't see it again. Only a fingerprint is stored, so nobody, "
            "not even an administrator, can show it later."
        ).classes("text-sm text-amber-800 dark:text-amber-300")
        ui.input("API key", value=secret).props("readonly outlined").classes(
            "w-full font-mono"
        ).mark("new-api-key")

        def copy() -> None:
            ui.clipboard.write(secret)
            ui.notify("Key copied", type="positive")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Copy key", icon="content_copy", on_click=copy).props("unelevated no-caps")
            ui.button("Done", on_click=dialog.close).props("flat no-caps")
    dialog.open()
