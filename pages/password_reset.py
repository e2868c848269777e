"""Public password reset pages: `/forgot-password` and `/reset-password?token=...`."""

from __future__ import annotations

from nicegui import run, ui

from components.auth_card import auth_card
from components.forms import FormMessage, new_password_inputs, submit_form
from pages.guard import sign_out
from services.accounts import password_reset


@ui.page("/forgot-password")
async def forgot_password_page() -> None:
    """Ask for a reset link by username or email; the answer never reveals an account."""
    ui.page_title("Forgot password · Assistant Studio")
    with auth_card("Forgot your password?", "We send a link to reset it."):
        identifier = (
            ui.input("Username or email").props("autofocus autocomplete=username").classes("w-full")
        )
        message = FormMessage()
        answer = ui.label().classes("text-sm text-emerald-700 dark:text-emerald-300")
        answer.set_visibility(False)

        async def request_link() -> None:
            text = await run.io_bound(
                password_reset.request_reset,
                identifier.value,
                ui.context.client.ip or "",
            )
            answer.set_text(text)
            answer.set_visibility(True)

        async def submit() -> None:
            identifier.error = None
            if not identifier.value.strip():
                identifier.error = "Enter your username or email."
            else:
                await submit_form(button, {}, message, request_link)

        identifier.on("keydown.enter", submit)
        button = ui.button("Send reset link", on_click=submit).props("unelevated").classes("w-full")
        ui.link("Back to sign in", "/login").classes("text-sm")


@ui.page("/reset-password")
async def reset_password_page(token: str = "") -> None:
    """Choose a new password with a valid link; every session ends."""
    ui.page_title("Reset password · Assistant Studio")
    valid = bool(token) and await run.io_bound(password_reset.token_is_valid, token)
    with auth_card("Choose a new password"):
        if not valid:
            ui.label(password_reset.INVALID_LINK).classes("text-slate-600 dark:text-slate-300")
            ui.link("Ask for a new link", "/forgot-password")
            return
        password, confirm = new_password_inputs(
            "New password", "Confirm new password", autofocus=True
        )
        message = FormMessage()

        async def reset() -> None:
            await run.io_bound(password_reset.reset_password, token, password.value, confirm.value)
            sign_out()
            ui.notify("Password changed. Sign in with your new password.", type="positive")
            ui.navigate.to("/login")

        async def submit() -> None:
            fields = {"password": password, "confirm": confirm}
            await submit_form(button, fields, message, reset)

        confirm.on("keydown.enter", submit)
        button = (
            ui.button("Set new password", on_click=submit).props("unelevated").classes("w-full")
        )
