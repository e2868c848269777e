"""The audit log at `/admin/audit`: admins filter events by who, action and dates; CSV export."""

from __future__ import annotations

import json
from datetime import UTC

from nicegui import run, ui

from components.layout import not_found_view
from core.errors import PermissionDenied, ValidationError
from models import AuditEvent, User
from pages.shell import signed_in_page
from services.accounts import audit_log
from services.accounts.audit_log import AuditFilter

HINT = "text-xs text-slate-500 dark:text-slate-400"
COLUMNS = [
    {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left"},
    {"name": "target", "label": "Target", "field": "target", "align": "left"},
    {"name": "address", "label": "Address", "field": "address", "align": "left"},
    {"name": "details", "label": "Details", "field": "details", "align": "left"},
]


def _row(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "time": f"{event.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
        "action": event.action,
        "actor": event.actor_name or (f"#{event.actor_id}" if event.actor_id else "-"),
        "target": event.target or "-",
        "address": event.address or "-",
        "details": json.dumps(event.details, sort_keys=True, ensure_ascii=False),
    }


class AuditView:
    """The filter form, the events table and the CSV button."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        with ui.row().classes("w-full gap-3 items-start flex-wrap"):
            self.who = ui.input("Who", placeholder="username").classes("min-w-36 flex-1")
            self.action = ui.input("Action", placeholder="e.g. signin.failed").classes(
                "min-w-36 flex-1"
            )
            self.since = ui.input("From (YYYY-MM-DD)").props("type=date").classes("min-w-36")
            self.until = ui.input("To (YYYY-MM-DD)").props("type=date").classes("min-w-36")
        for field in (self.who, self.action, self.since, self.until):
            field.on("keydown.enter", self.load)
        with ui.row().classes("gap-2"):
            ui.button("Apply filters", icon="filter_alt", on_click=self.load).props(
                "unelevated no-caps"
            )
            ui.button("Export CSV", icon="download", on_click=self.download).props(
                "outline no-caps"
            )
        self.message = ui.label().classes("text-sm text-red-600 dark:text-red-400")
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="id").classes("w-full")
        self.table.props('flat dense wrap-cells aria-label="Audit events"')
        self.count = ui.label().classes(HINT)

    def _filters(self) -> AuditFilter:
        return AuditFilter(
            who=self.who.value or "",
            action=self.action.value or "",
            since=audit_log.parse_day(self.since.value, "since"),
            until=audit_log.parse_day(self.until.value, "until"),
        )

    async def load(self) -> None:
        """Read the events matching the filters and redraw the table."""
        self.message.set_text("")
        try:
            events = await run.io_bound(audit_log.list_events, self.actor, self._filters())
        except ValidationError as exc:
            self.message.set_text(str(exc))
            return
        self.table.rows = [_row(event) for event in events]
        self.table.update()
        more = (
            " (the newest shown; narrow the filters or export CSV)"
            if len(events) >= (audit_log.PAGE_SIZE)
            else ""
        )
        self.count.set_text(f"{len(events)} events{more}")

    async def download(self) -> None:
        """Send every matching event as CSV."""
        self.message.set_text("")
        try:
            text = await run.io_bound(audit_log.export_csv, self.actor, self._filters())
        except ValidationError as exc:
            self.message.set_text(str(exc))
            return
        ui.download.content(text, "audit-log.csv", "text/csv")


@signed_in_page("/admin/audit", "Admin")
async def audit_page(user: User) -> None:
    """Admins only; everyone else sees the not-found page."""
    try:
        await run.io_bound(audit_log.list_events, user, AuditFilter(), 1)
    except PermissionDenied:
        not_found_view()
        return
    with ui.row().classes("w-full items-end justify-between"):
        ui.label("Audit log").classes("text-2xl font-semibold")
        ui.link("Back to administration", "/admin").classes("text-sm")
    ui.label(
        "Sign-ins, admin actions, API keys and share links. Secrets are never recorded."
    ).classes(HINT)
    with ui.card().classes("w-full p-4 gap-3 dark:bg-slate-800 shadow-sm"):
        view = AuditView(user)
    await view.load()
