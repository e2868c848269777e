"""Sign-in and sign-up pages."""

from __future__ import annotations

from urllib.parse import quote

from nicegui import run, ui

from components.auth_card import auth_card
from components.forms import FormMessage, new_password_inputs, submit_form
from core.config import get_settings
from core.errors import Unavailable
from pages.guard import current_user, safe_next, start_session
from services.accounts.sso import SSO_ERRORS, START_PATH, provider_label
from services.accounts.users import (
    RegistrationMode,
    authenticate,
    is_first_user,
    password_sign_in_allowed,
    register,
    registration_mode,
    session_token,
)


def _single_sign_on(target: str, error: str) -> None:
    """The "Sign in with …" button (when SSO is set up) and why the last SSO attempt failed."""
    if error in SSO_ERRORS:
        ui.label(SSO_ERRORS[error]).classes("text-sm text-red-600 dark:text-red-400").props(
            "role=alert"
        ).mark("sso-error")
    if not get_settings().oidc_enabled:
        return
    label = f"Sign in with {provider_label()}"
    href = START_PATH + (f"?next={quote(target, safe='/')}" if target != "/" else "")
    # A plain link: the provider's page is a full navigation, not a websocket event.
    ui.link(label, href).classes(
        "w-full text-center rounded px-4 py-2 no-underline font-medium text-white bg-indigo-600 "
        "hover:bg-indigo-700 focus-visible:outline focus-visible:outline-2 "
        "focus-visible:outline-offset-2 focus-visible:outline-indigo-500"
    ).props(f'aria-label="{label}"').mark("sso-button")


@ui.page("/login")
async def login_page(next: str = "", sso_error: str = "") -> None:  # noqa: A002
    """Username + password and/or single sign-on; returns to `next` (local paths only)."""
    target = safe_next(next)
    try:
        if await current_user() is not None:
            ui.navigate.to(target)
            return
        mode = await run.io_bound(registration_mode)
    except Unavailable:
        mode = RegistrationMode.closed
    ui.page_title("Sign in · Assistant Studio")
    with auth_card("Welcome back", "Sign in to continue."):
        _single_sign_on(target, sso_error)
        if not password_sign_in_allowed():
            return
        if get_settings().oidc_enabled:
            ui.label("or with your username").classes("text-xs text-slate-500 self-center")
        username = ui.input("Username").props("autofocus autocomplete=username").classes("w-full")
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props("autocomplete=current-password")
            .classes("w-full")
        )
        message = FormMessage()

        async def sign_in_and_go() -> None:
            user = await run.io_bound(
                authenticate, username.value, password.value, ui.context.client.ip
            )
            ui.navigate.to(start_session(await run.io_bound(session_token, user), target))

        async def submit() -> None:
            username.error = password.error = None
            if not username.value.strip():
                username.error = "Enter your username."
            elif not password.value:
                password.error = "Enter your password."
            else:
                await submit_form(button, {}, message, sign_in_and_go)

        password.on("keydown.enter", submit)
        username.on("keydown.enter", submit)
        button = ui.button("Sign in", on_click=submit).props("unelevated").classes("w-full")
        with ui.row().classes("w-full justify-between text-sm"):
            if mode is RegistrationMode.open:
                ui.link("Create an account", "/register")
            ui.link("Forgot password?", "/forgot-password")


@ui.page("/register")
async def register_page() -> None:
    """Self-service sign-up (when open, or for the very first account)."""
    ui.page_title("Create account · Assistant Studio")
    try:
        first = await run.io_bound(is_first_user)
        allowed = first or await run.io_bound(registration_mode) is RegistrationMode.open
        allowed = allowed and password_sign_in_allowed()
    except Unavailable:
        first = allowed = False
    subtitle = "The first account becomes the team administrator." if first else ""
    with auth_card("Create your account", subtitle):
        if not allowed:
            ui.label("Sign-up is closed. Ask an administrator for an account.").classes(
                "text-slate-600 dark:text-slate-300"
            )
            ui.link("Back to sign in", "/login")
            return
        username = ui.input("Username").props("autofocus autocomplete=username").classes("w-full")
        email = (
            ui.input("Email", placeholder="optional")
            .props("type=email autocomplete=email")
            .classes("w-full")
        )
        password, confirm = new_password_inputs()
        fields = {"username": username, "email": email, "password": password, "confirm": confirm}
        message = FormMessage()

        async def register_and_go() -> None:
            user = await run.io_bound(
                register, username.value, password.value, confirm.value, email.value
            )
            ui.navigate.to(start_session(await run.io_bound(session_token, user), "/"))

        async def submit() -> None:
            await submit_form(button, fields, message, register_and_go)

        for field in fields.values():
            field.on("keydown.enter", submit)
        button = ui.button("Create account", on_click=submit).props("unelevated").classes("w-full")
        with ui.row().classes("w-full text-sm"):
            ui.label("Already have an account?").classes("text-slate-500")
            ui.link("Sign in", "/login")
