"""Groups at `/admin/groups`: create them, add members, set a budget and the allowed models."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import run, ui

from components.layout import not_found_view
from core.errors import PermissionDenied, ServiceError
from models import User
from pages.shell import signed_in_page
from services.accounts import groups
from services.accounts.groups import GroupRow
from services.assistants.manage import budget_text
from services.usage.pricing import format_usd

HINT = "text-xs text-slate-500 dark:text-slate-400"


class GroupsPanel:
    """Every group as a card with its members and settings (redrawn after each change)."""

    def __init__(self, actor: User, rows: list[GroupRow]) -> None:
        self.actor = actor
        self.rows = rows

    async def _run(self, action: Callable[[], Awaitable[object]], done: str) -> None:
        try:
            await action()
        except PermissionDenied as exc:
            ui.notify(str(exc), type="negative")
            ui.navigate.reload()
            return
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(done, type="positive")
        self.rows = await run.io_bound(groups.list_groups, self.actor)
        self.cards.refresh()

    def _call(self, function: Callable[..., object], *args: object) -> Callable[[], Awaitable]:
        return lambda: run.io_bound(function, self.actor, *args)

    def create_form(self) -> None:
        """The "new group" line."""
        with ui.row().classes("w-full items-start gap-3 flex-wrap"):
            name = ui.input("New group name").classes("min-w-48 flex-1")

            async def create() -> None:
                await self._run(self._call(groups.create_group, name.value), "Group created")
                name.value = ""

            name.on("keydown.enter", create)
            ui.button("Create group", icon="group_add", on_click=create).props("unelevated no-caps")

    @ui.refreshable_method
    def cards(self) -> None:
        """One card per group."""
        if not self.rows:
            ui.label("No groups yet.").classes("text-slate-500")
        for row in self.rows:
            self._card(row)

    def _card(self, row: GroupRow) -> None:
        name = row.name
        with (
            ui.card().classes("w-full p-4 gap-3 dark:bg-slate-800 shadow-sm").mark(f"group-{name}")
        ):
            with ui.row().classes("w-full items-center justify-between gap-2"):
                ui.label(name).classes("text-lg font-medium")
                budget = format_usd(row.budget_micros) if row.budget_micros is not None else "none"
                ui.label(f"{format_usd(row.month_spent_micros)} this month · budget {budget}")
            with ui.row().classes("gap-2 flex-wrap items-center"):
                if not row.members:
                    ui.label("No members.").classes(HINT)
                for member in row.members:
                    source = " (SSO)" if member.source == "sso" else ""
                    ui.chip(
                        f"{member.username}{source}",
                        removable=True,
                        on_value_change=lambda _, m=member: self._run(
                            self._call(groups.remove_member, row.id, m.user_id), "Member removed"
                        ),
                    ).props(f'aria-label="{member.username} in {name}"')
            with ui.grid().classes("w-full gap-3 grid-cols-1 md:grid-cols-3"):
                self._field(
                    f"Add member to {name}",
                    "",
                    "Add",
                    lambda value: self._call(groups.add_member, row.id, value),
                    "Member added",
                    "username",
                )
                self._field(
                    f"Monthly budget of {name} (USD)",
                    budget_text(row.budget_micros),
                    "Save budget",
                    lambda value: self._call(groups.set_group_budget, row.id, value),
                    "Budget saved",
                    "empty = no group budget",
                )
                self._field(
                    f"Allowed models for {name}",
                    ", ".join(row.allowed_models),
                    "Save models",
                    lambda value: self._call(groups.set_allowed_models, row.id, value),
                    "Models saved",
                    "comma-separated; empty = every model",
                )
            ui.button(
                "Delete group",
                on_click=lambda: self._run(self._call(groups.delete_group, row.id), "Deleted"),
            ).props(f'flat dense no-caps color=negative aria-label="Delete group {name}"')

    def _field(
        self,
        label: str,
        value: str,
        button: str,
        action: Callable[[str], Callable[[], Awaitable]],
        done: str,
        placeholder: str,
    ) -> None:
        with ui.column().classes("gap-1"):
            field = ui.input(label, value=value, placeholder=placeholder).classes("w-full")

            async def save() -> None:
                await self._run(action(field.value or ""), done)

            field.on("keydown.enter", save)
            ui.button(button, on_click=save).props(
                f'outline dense no-caps aria-label="{button}: {label}"'
            )


@signed_in_page("/admin/groups", "Admin")
async def groups_page(user: User) -> None:
    """Admins only; everyone else sees the not-found page."""
    try:
        rows = await run.io_bound(groups.list_groups, user)
    except PermissionDenied:
        not_found_view()
        return
    with ui.row().classes("w-full items-end justify-between"):
        ui.label("Groups").classes("text-2xl font-semibold")
        ui.link("Back to administration", "/admin").classes("text-sm")
    ui.label(
        "A group's budget covers its members' spend this month; a user in several groups is "
        "held to each. Allowed models limit which assistants members can chat with. With "
        "single sign-on, the groups claim adds members to groups of the same name."
    ).classes(HINT)
    panel = GroupsPanel(user, rows)
    panel.create_form()
    panel.cards()
