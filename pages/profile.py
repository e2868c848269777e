"""The profile at `/profile`: username, email, password, theme, API keys, account deletion."""

from __future__ import annotations

from nicegui import run, ui

from components.api_key_list import api_key_list, show_new_key
from components.forms import FormMessage, new_password_inputs, submit_form
from components.heading import heading
from core.errors import ServiceError
from models import User
from pages.guard import sign_in, sign_out
from pages.share import share_links_section
from pages.shell import signed_in_page
from services.accounts import api_keys, profile
from services.accounts.users import set_theme

SECTION = "w-full p-5 gap-3 dark:bg-slate-800 shadow-sm"
HINT = "text-sm text-slate-500 dark:text-slate-400"


def _section(title: str, hint: str = "") -> ui.card:
    card = ui.card().classes(SECTION)
    with card:
        ui.label(title).classes("text-lg font-medium")
        if hint:
            ui.label(hint).classes(HINT)
    return card


def _account_section(user: User) -> None:
    with _section("Account", "Your username signs you in; the email receives reset links."):
        username = ui.input("Username", value=user.username).props("autocomplete=username")
        email = ui.input("Email", value=user.email or "", placeholder="optional").props(
            "type=email autocomplete=email"
        )
        for element in (username, email):
            element.classes("w-full max-w-md")
        message = FormMessage()

        async def save() -> None:
            if username.value.strip().lower() != user.username:
                await run.io_bound(profile.change_username, user, username.value)
            if (email.value or "").strip() != (user.email or ""):
                await run.io_bound(profile.change_email, user, email.value)
            ui.notify("Profile saved", type="positive")
            ui.navigate.reload()

        fields = {"username": username, "email": email}
        button = ui.button(
            "Save profile", on_click=lambda: submit_form(button, fields, message, save)
        ).props("unelevated no-caps")


def _password_section(user: User) -> None:
    with _section("Password", "Changing it signs you out everywhere else; you stay signed in."):
        current = ui.input("Current password", password=True).props("autocomplete=current-password")
        new, confirm = new_password_inputs("New password", "Confirm new password")
        for element in (current, new, confirm):
            element.classes("w-full max-w-md")
        message = FormMessage()

        async def change() -> None:
            token = await run.io_bound(
                profile.change_password, user, current.value, new.value, confirm.value
            )
            sign_in(token)
            for element in (current, new, confirm):
                element.value = ""
            ui.notify("Password changed. Other sessions were signed out.", type="positive")

        fields = {"current": current, "password": new, "confirm": confirm}
        button = ui.button(
            "Change password", on_click=lambda: submit_form(button, fields, message, change)
        ).props("unelevated no-caps")


def _theme_section(user: User) -> None:
    with _section("Appearance"):

        async def choose(event) -> None:  # noqa: ANN001
            await run.io_bound(set_theme, user.id, event.value)
            ui.dark_mode({"auto": None, "light": False, "dark": True}[event.value])
            ui.notify("Theme saved", type="positive")

        ui.toggle(
            {"auto": "Match system", "light": "Light", "dark": "Dark"},
            value=user.theme,
            on_change=choose,
        ).props('no-caps aria-label="Theme"')


async def _api_keys_section(user: User) -> None:
    with _section(
        "API keys",
        "For scripts and IDE tools: the JSON API under /api and the OpenAI-compatible /v1 "
        "endpoint (see /api/docs). A key acts as you, within your budgets and limits.",
    ):
        with ui.row().classes("w-full items-start gap-3 flex-wrap"):
            name = ui.input("Key name", placeholder="e.g. my-script").classes("w-full max-w-xs")
            scope = ui.select(
                {"chat": "Chat (send and change)", "read": "Read-only"},
                value="chat",
                label="Scope",
            ).classes("w-56")
            expiry = ui.select(
                {label: label for label in api_keys.EXPIRY_CHOICES},
                value=f"{api_keys.DEFAULT_EXPIRY_DAYS} days",
                label="Expires after",
            ).classes("w-40")
        message = FormMessage()

        @ui.refreshable
        async def keys() -> None:
            api_key_list(await run.io_bound(api_keys.list_keys, user), revoke)

        async def revoke(key) -> None:  # noqa: ANN001
            try:
                await run.io_bound(api_keys.revoke_key, user, key.id)
            except ServiceError as exc:
                ui.notify(str(exc), type="negative")
                return
            ui.notify(f"Key “{key.name}” revoked", type="positive")
            await keys.refresh()

        async def create() -> None:
            days = api_keys.EXPIRY_CHOICES[expiry.value]
            made = await run.io_bound(api_keys.create_key, user, name.value, scope.value, days)
            name.value = ""
            show_new_key(made.info.name, made.secret)
            await keys.refresh()

        fields = {"name": name, "scope": scope, "expiry": expiry}
        button = ui.button(
            "Create key", on_click=lambda: submit_form(button, fields, message, create)
        ).props("unelevated no-caps")
        ui.label("Your keys").classes("font-medium mt-2")
        await keys()


def _delete_section(user: User) -> None:
    with _section(
        "Delete account",
        "Deletes your conversations, assistants and files (also at the model provider) and "
        "signs you out. This cannot be undone.",
    ).classes("border border-rose-200 dark:border-rose-900"):
        ui.button("Delete my account", icon="delete_forever", on_click=lambda: dialog.open()).props(
            "outline color=negative no-caps"
        )
        with ui.dialog() as dialog, ui.card().classes("p-5 gap-3 max-w-md"):
            ui.label("Delete your account?").classes("text-lg font-medium")
            ui.label("Enter your password to confirm. Replies still running are stopped.").classes(
                HINT
            )
            confirm = (
                ui.input("Your password", password=True)
                .props("autocomplete=current-password")
                .classes("w-full")
            )
            message = FormMessage()

            async def delete() -> None:
                await run.io_bound(profile.delete_account, user, confirm.value)
                sign_out()
                dialog.close()
                ui.navigate.to("/login")

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                button = ui.button(
                    "Delete forever",
                    on_click=lambda: submit_form(button, {"confirm": confirm}, message, delete),
                ).props("unelevated color=negative no-caps")


@signed_in_page("/profile", "Profile")
async def profile_page(user: User) -> None:
    """Change username, email, password and theme, or delete the account."""
    heading("Profile")
    with ui.column().classes("w-full max-w-3xl gap-4"):
        _account_section(user)
        _password_section(user)
        _theme_section(user)
        await _api_keys_section(user)
        await share_links_section(user)
        _delete_section(user)
