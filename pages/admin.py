"""The admin page at `/admin`: users, roles, budgets, sign-up mode, API keys, team usage."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import partial

from nicegui import run, ui

from components.api_key_list import api_key_list
from components.charts import chart_card, cost_by_group_chart, cost_per_day_chart, tokens_chart
from components.forms import FormMessage, submit_form
from components.heading import heading
from components.layout import not_found_view
from components.stat_card import stat_card
from core.config import get_settings
from core.errors import PermissionDenied, ServiceError, ValidationError
from models import Role, User
from pages.dashboard import download_usage
from pages.guard import current_user
from pages.share import public_links_card
from pages.shell import signed_in_page
from services.accounts import admin, api_keys
from services.accounts.admin import UserRow
from services.usage.dashboard import TeamUsage, team_usage
from services.usage.pricing import MICROS_PER_USD, format_usd
from services.usage.spend import chart_days

HINT = "text-xs text-slate-500 dark:text-slate-400"
MODES = {
    "open": "Open: anyone can sign up",
    "invite": "Invite only: admins create accounts",
    "closed": "Closed: no new accounts",
}


def _budget_text(row: UserRow) -> str:
    if row.budget_micros is None:
        return "Unlimited"
    return format_usd(row.budget_micros) + (" (team default)" if row.uses_default_budget else "")


def _limits_text(row: UserRow) -> str:
    settings = get_settings()
    concurrent = row.max_concurrent_replies or f"{settings.max_concurrent_replies} (default)"
    per_minute = row.sends_per_minute or f"{settings.sends_per_minute} (default)"
    return f"Replies at once: {concurrent} · sends per minute: {per_minute}"


async def _guarded(action: Callable[[], Awaitable[object]], done: str) -> bool:
    """Run an admin action; a friendly notification either way. True on success."""
    try:
        await action()
    except PermissionDenied as exc:
        fresh = await current_user()
        if fresh is None or fresh.role != Role.admin:
            ui.navigate.reload()  # rights changed under this page: the reload shows it
            return False
        # Still an admin: a rule refused (e.g. the last admin's own demotion). It stays up until
        # dismissed, as a reload or a timeout would take it away before it is read.
        ui.notify(str(exc), type="negative", timeout=0, close_button="OK", multi_line=True)
        return False
    except ServiceError as exc:
        ui.notify(str(exc), type="negative")
        return False
    ui.notify(done, type="positive")
    return True


class UsersPanel:
    """The users table with its per-user actions (redrawn after each change)."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.rows: list[UserRow] = []
        self._budget_dialog()
        self._limits_dialog()
        self._link_dialog()

    async def load(self) -> None:
        """Fetch the rows and redraw."""
        self.rows = await run.io_bound(admin.list_users, self.actor)
        self.table.refresh()

    def _budget_dialog(self) -> None:
        with ui.dialog() as self.budget_dialog, ui.card().classes("p-5 gap-3 w-full max-w-sm"):
            self.budget_title = ui.label().classes("text-lg font-medium")
            self.budget_input = ui.input(
                "Monthly budget (USD)", placeholder="empty = team default"
            ).classes("w-full")
            ui.label("Leave empty for the team default. 0 blocks sending.").classes(HINT)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.budget_dialog.close).props("flat no-caps")
                self.budget_save = ui.button("Save budget", on_click=self._save_budget).props(
                    "unelevated no-caps"
                )
        self.budget_user: UserRow | None = None

    def _limits_dialog(self) -> None:
        settings = get_settings()
        with ui.dialog() as self.limits_dialog, ui.card().classes("p-5 gap-3 w-full max-w-sm"):
            self.limits_title = ui.label().classes("text-lg font-medium")
            self.limits_fields = {
                "max_concurrent_replies": ui.input(
                    "Replies at once",
                    placeholder=f"empty = default ({settings.max_concurrent_replies})",
                )
                .props("inputmode=numeric")
                .classes("w-full"),
                "sends_per_minute": ui.input(
                    "Sends per minute", placeholder=f"empty = default ({settings.sends_per_minute})"
                )
                .props("inputmode=numeric")
                .classes("w-full"),
            }
            ui.label("Whole numbers from 1 to 1000. Leave empty for the team setting.").classes(
                HINT
            )
            self.limits_message = FormMessage()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.limits_dialog.close).props("flat no-caps")
                self.limits_save = ui.button(
                    "Save limits",
                    on_click=lambda: submit_form(
                        self.limits_save, self.limits_fields, self.limits_message, self._save_limits
                    ),
                ).props("unelevated no-caps")
        self.limits_user: UserRow | None = None

    def open_limits(self, row: UserRow) -> None:
        """Ask for `row`'s replies-at-once and sends-per-minute limits (empty: the default)."""
        self.limits_user = row
        self.limits_title.set_text(f"Limits for {row.username}")
        for key, value in (
            ("max_concurrent_replies", row.max_concurrent_replies),
            ("sends_per_minute", row.sends_per_minute),
        ):
            self.limits_fields[key].value = "" if value is None else str(value)
            self.limits_fields[key].error = None
        self.limits_message.clear()
        self.limits_dialog.open()

    async def _save_limits(self) -> None:
        row = self.limits_user
        if row is None:
            return
        fields = self.limits_fields
        await run.io_bound(
            admin.set_limits,
            self.actor,
            row.id,
            fields["max_concurrent_replies"].value,
            fields["sends_per_minute"].value,
        )
        self.limits_dialog.close()
        ui.notify(f"Limits saved for {row.username}", type="positive")
        await self.load()

    def _link_dialog(self) -> None:
        with ui.dialog() as self.link_dialog, ui.card().classes("p-5 gap-3 w-full max-w-lg"):
            ui.label("Password reset link").classes("text-lg font-medium")
            ui.label(
                "Valid once, for one hour. Pass it on privately. Copy gives the full link "
                "(set PUBLIC_URL to show it here too)."
            ).classes(HINT)
            self.link_input = ui.input("Reset link").props("readonly").classes("w-full")
            self.link_input.mark("reset-link")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(
                    "Copy",
                    icon="content_copy",
                    on_click=self._copy_link,
                ).props("flat no-caps")
                ui.button("Close", on_click=self.link_dialog.close).props("unelevated no-caps")

    def _copy_link(self) -> None:
        # Without PUBLIC_URL the link is a path: the browser completes it with its own address.
        ui.run_javascript(
            f"navigator.clipboard.writeText(new URL({json.dumps(self.link_input.value)},"
            " location.origin).href)"
        )
        ui.notify("Link copied")

    def open_budget(self, row: UserRow) -> None:
        """Ask for a new budget for `row`."""
        self.budget_user = row
        self.budget_title.set_text(f"Budget for {row.username}")
        self.budget_input.value = (
            "" if row.uses_default_budget else f"{row.budget_micros / MICROS_PER_USD:g}"
        )
        self.budget_input.error = None
        self.budget_dialog.open()

    async def _save_budget(self) -> None:
        row = self.budget_user
        if row is None or not self.budget_save.enabled:
            return
        self.budget_save.disable()
        try:
            await run.io_bound(admin.set_budget, self.actor, row.id, self.budget_input.value)
        except ValidationError as exc:
            self.budget_input.error = str(exc)
            return
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        finally:
            self.budget_save.enable()
        self.budget_dialog.close()
        ui.notify(f"Budget saved for {row.username}", type="positive")
        await self.load()

    async def _role(self, row: UserRow) -> None:
        role = Role.member if row.role == Role.admin else Role.admin
        action = partial(run.io_bound, admin.set_role, self.actor, row.id, role)
        if await _guarded(action, f"{row.username} is now {role.value}"):
            await self.load()

    async def _active(self, row: UserRow) -> None:
        action = partial(run.io_bound, admin.set_active, self.actor, row.id, not row.is_active)
        done = f"{row.username} {'disabled and signed out' if row.is_active else 'enabled'}"
        if await _guarded(action, done):
            await self.load()

    async def _reset_link(self, row: UserRow) -> None:
        try:
            link = await run.io_bound(admin.issue_reset_link, self.actor, row.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.link_input.value = link
        self.link_dialog.open()

    @ui.refreshable_method
    def table(self) -> None:
        """One responsive row per user with figures and actions."""
        with ui.column().classes("w-full gap-0 divide-y divide-slate-200 dark:divide-slate-700"):
            for row in self.rows:
                self._user_row(row)

    def _user_row(self, row: UserRow) -> None:
        with ui.row().classes("w-full items-center gap-x-4 gap-y-2 py-3 flex-wrap"):
            with ui.column().classes("gap-0 min-w-40 flex-1"):
                with ui.row().classes("items-center gap-2"):
                    ui.label(row.username).classes("font-medium")
                    if row.role == Role.admin:
                        ui.badge("admin").props("color=indigo")
                    if not row.is_active:
                        ui.badge("disabled").props("color=grey")
                ui.label(row.email or "no email").classes(HINT)
                last = f"{row.last_active_at:%Y-%m-%d}" if row.last_active_at else "never"
                ui.label(f"Joined {row.created_at:%Y-%m-%d} · last active {last}").classes(HINT)
            with ui.column().classes("gap-0 min-w-32"):
                ui.label(f"{format_usd(row.month_cost_micros)} this month").classes("text-sm")
                ui.label(f"{row.month_tokens:,} tokens").classes(HINT)
                ui.label(f"Budget: {_budget_text(row)}").classes(HINT)
                ui.label(_limits_text(row)).classes(HINT)
            with ui.row().classes("gap-1 flex-wrap"):
                name = row.username
                actions = (
                    ("Make member" if row.role == Role.admin else "Make admin", "role", self._role),
                    ("Set budget", "budget", self.open_budget),
                    ("Limits", "limits", self.open_limits),
                    ("Disable" if row.is_active else "Enable", "active", self._active),
                    ("Reset link", "reset", self._reset_link),
                )
                for label, key, handler in actions:
                    ui.button(label, on_click=lambda h=handler, r=row: h(r)).props(
                        f'flat dense no-caps aria-label="{label} for {name}"'
                    ).mark(f"{key}-{name}")


def _registration(actor: User, mode: str) -> None:
    with chart_card("Sign-up", "Who may create an account"):

        async def change(event) -> None:  # noqa: ANN001
            action = partial(run.io_bound, admin.set_registration_mode, actor, event.value)
            await _guarded(action, "Sign-up setting saved")

        ui.radio(MODES, value=mode, on_change=change).props('aria-label="Registration mode"')


def _add_account(actor: User, panel: UsersPanel) -> None:
    with chart_card("Add an account", "For invite-only teams: you choose the first password."):
        with ui.row().classes("w-full gap-3 items-start flex-wrap"):
            username = ui.input("New username").classes("min-w-40 flex-1")
            email = ui.input("New user's email", placeholder="optional").classes("min-w-48 flex-1")
            password = ui.input("First password", password=True).classes("min-w-40 flex-1")
        message = FormMessage()
        fields = {"username": username, "email": email, "password": password}

        async def create() -> None:
            created = await run.io_bound(
                admin.create_account, actor, username.value, password.value, email.value
            )
            for element in fields.values():
                element.value = ""
            ui.notify(f"Account {created.username} created", type="positive")
            await panel.load()

        button = ui.button(
            "Create account",
            icon="person_add",
            on_click=lambda: submit_form(button, fields, message, create),
        ).props("unelevated no-caps")


def _team_usage(actor: User, team: TeamUsage) -> None:
    with ui.row().classes("w-full items-end justify-between"):
        ui.label("Team usage").classes("text-xl font-semibold")
        ui.button(
            "Export team CSV", icon="download", on_click=lambda: download_usage(actor, True)
        ).props("outline no-caps")
    month = team.month
    with ui.row().classes("w-full gap-4"):
        stat_card(
            "Team cost this month",
            format_usd(month.this.cost_micros),
            "payments",
            change=month.cost_change,
            rising_is_bad=True,
        )
        stat_card(
            "Team tokens this month",
            f"{month.this.tokens:,}",
            "data_usage",
            change=month.tokens_change,
            rising_is_bad=True,
        )
        stat_card("Team replies this month", f"{month.this.messages:,}", "chat")
    if not team.daily:
        ui.label("No usage in the last 30 days.").classes("text-slate-500")
        return
    days = chart_days()
    with chart_card("Team cost per day", "Last 30 days, stacked by model"):
        cost_per_day_chart(days, team.daily)
    with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
        for title, groups in (
            ("Cost by user", team.by_user),
            ("Cost by assistant", team.by_assistant),
            ("Cost by model", team.by_model),
        ):
            with chart_card(title, "Last 30 days"):
                cost_by_group_chart(groups)
        with chart_card("Team tokens in vs out", "Last 30 days"):
            tokens_chart(days, team.daily)


async def _api_keys(actor: User) -> None:
    """Every user's API keys; an admin can revoke any of them."""
    with ui.card().classes("w-full p-4 gap-2 dark:bg-slate-800 shadow-sm"):
        ui.label("API keys").classes("text-lg font-medium")

        @ui.refreshable
        async def keys() -> None:
            api_key_list(await run.io_bound(api_keys.list_all_keys, actor), revoke, True)

        async def revoke(key) -> None:  # noqa: ANN001
            if await _guarded(
                lambda: run.io_bound(api_keys.revoke_key, actor, key.id),
                f"Key “{key.name}” of {key.username} revoked",
            ):
                await keys.refresh()

        await keys()


def _load_all(actor: User) -> tuple[str, TeamUsage, list[UserRow]]:
    return admin.registration_mode(actor).value, team_usage(actor), admin.list_users(actor)


@signed_in_page("/admin", "Admin")
async def admin_page(user: User) -> None:
    """Admins only: members (and anyone demoted meanwhile) see the not-found page."""
    try:
        mode, team, rows = await run.io_bound(_load_all, user)
    except PermissionDenied:
        not_found_view()
        return
    with ui.row().classes("w-full items-end justify-between gap-2"):
        heading("Administration")
        with ui.row().classes("gap-4 text-sm"):
            ui.link("Groups", "/admin/groups")
            ui.link("Audit log", "/admin/audit")
    with ui.card().classes("w-full p-4 gap-2 dark:bg-slate-800 shadow-sm"):
        ui.label("Users").classes("text-lg font-medium")
        panel = UsersPanel(user)
        panel.rows = rows
        panel.table()
    with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
        _registration(user, mode)
        _add_account(user, panel)
        await public_links_card(user)
    await _api_keys(user)
    _team_usage(user, team)
