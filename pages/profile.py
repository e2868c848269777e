"""The profile at `/profile`: username, email, password, theme, account deletion."""

from __future__ import annotations

from nicegui import run, ui

from components.forms import FormMessage, new_password_inputs, submit_form
from components.heading import heading
from models import User
from pages.guard import sign_in, sign_out
from pages.shell import signed_in_page
from services.accounts import profile
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
        _delete_section(user)
