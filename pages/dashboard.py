"""The dashboard at `/`: this month's figures, budget, charts and shortcuts."""

from __future__ import annotations

from nicegui import run, ui

from components.budget_banner import budget_banner, budget_meter
from components.charts import chart_card, cost_by_group_chart, cost_per_day_chart, tokens_chart
from components.feedback import satisfaction_table
from components.heading import heading
from components.stat_card import stat_card
from models import Role, User
from pages.shell import signed_in_page
from services.chat import feedback
from services.usage.dashboard import Dashboard, dashboard_for
from services.usage.pricing import format_usd
from services.usage.spend import chart_days, export_csv

EMPTY_TEXT = "text-sm text-slate-500 dark:text-slate-400"


async def download_satisfaction(user: User) -> None:
    """Send the satisfaction per assistant as CSV (admins only: the service checks)."""
    text = await run.io_bound(feedback.satisfaction_csv, user)
    ui.download.content(text, "assistant-satisfaction.csv", "text/csv")


async def download_usage(user: User, everyone: bool = False) -> None:
    """Send the usage CSV (own, or the team's for admins) to the browser."""
    text = await run.io_bound(export_csv, user, everyone)
    ui.download.content(text, "team-usage.csv" if everyone else "my-usage.csv", "text/csv")


def plural(count: int, noun: str) -> str:
    """'1 message', '3 messages'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _cards(board: Dashboard) -> None:
    month = board.month.this
    with ui.row().classes("w-full gap-4"):
        stat_card("Assistants", f"{board.counts.assistants:,}", "smart_toy")
        stat_card("Conversations", f"{board.counts.conversations:,}", "forum")
        stat_card("Replies this month", f"{month.messages:,}", "chat")
        stat_card(
            "Tokens this month",
            f"{month.tokens:,}",
            "data_usage",
            hint=f"{month.input_tokens:,} in · {month.output_tokens:,} out",
            change=board.month.tokens_change,
            rising_is_bad=True,
        )
        unpriced = f"{month.unpriced} replies without a price" if month.unpriced else ""
        forecast = board.forecast.sentence() if board.forecast and month.cost_micros else ""
        stat_card(
            "Cost this month",
            format_usd(month.cost_micros),
            "payments",
            hint=" · ".join(part for part in (unpriced, forecast) if part),
            change=board.month.cost_change,
            rising_is_bad=True,
        )
        if board.budget.budget_micros is not None:
            with stat_card(
                "Budget used",
                f"{board.budget.fraction:.0%}",
                "savings",
                hint=f"{format_usd(board.budget.used_micros)} of "
                f"{format_usd(board.budget.budget_micros)}",
            ):
                budget_meter(board.budget)


def _charts(board: Dashboard) -> None:
    days = chart_days()
    with chart_card("Cost per day", "Last 30 days, stacked by model"):
        cost_per_day_chart(days, board.daily)
    with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
        with chart_card("Cost by assistant", "Last 30 days"):
            if board.by_assistant:
                cost_by_group_chart(board.by_assistant)
            else:
                ui.label("No replies in the last 30 days.").classes(EMPTY_TEXT)
        with chart_card("Tokens in vs out", "Last 30 days"):
            tokens_chart(days, board.daily)


def _empty_state() -> None:
    with ui.card().classes("w-full p-6 items-start gap-2 dark:bg-slate-800"):
        ui.icon("insights", size="lg").classes("text-indigo-400")
        ui.label("No usage yet").classes("text-lg font-medium")
        ui.label(
            "Your spending and token charts appear here after your first chat. "
            "Build an assistant, then start a conversation with it."
        ).classes("text-slate-500 dark:text-slate-400")
        with ui.row().classes("gap-2"):
            ui.button("New assistant", on_click=lambda: ui.navigate.to("/assistants/new")).props(
                "unelevated"
            )
            ui.button("Open chat", on_click=lambda: ui.navigate.to("/chat")).props("outline")


def _shortcuts(board: Dashboard) -> None:
    with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
        with chart_card("Recent conversations", "Continue where you left off"):
            if not board.recent:
                ui.label("No conversations yet.").classes(EMPTY_TEXT)
            for item in board.recent:
                link = ui.link(target=f"/chat/{item.id}").classes(
                    "w-full flex items-center gap-3 px-2 py-2 rounded-lg no-underline "
                    "text-slate-800 dark:text-slate-100 hover:bg-slate-100 "
                    "dark:hover:bg-slate-700"
                )
                with link:
                    # The link's name is its visible text, prefixed for screen readers.
                    ui.label("Continue").classes("sr-only")
                    ui.icon("chat_bubble_outline", size="xs").classes("text-indigo-500")
                    with ui.column().classes("gap-0 flex-1 min-w-0"):
                        ui.label(item.title).classes("truncate font-medium")
                        ui.label(
                            f"{item.assistant_name} · {plural(item.message_count, 'message')} · "
                            f"{item.updated_at:%b %d, %H:%M} UTC"
                        ).classes("text-xs text-slate-500 dark:text-slate-400 truncate")
        with chart_card("Most-used assistants", "By number of conversations"):
            if not board.top_assistants:
                ui.label("No assistant used yet.").classes(EMPTY_TEXT)
            for assistant in board.top_assistants:
                with ui.row().classes("w-full items-center gap-3 px-2 py-1"):
                    ui.icon("smart_toy", size="xs").classes("text-teal-500")
                    with ui.column().classes("gap-0 flex-1 min-w-0"):
                        ui.label(assistant.name).classes("truncate font-medium")
                        ui.label(
                            f"{assistant.model} · {plural(assistant.conversations, 'conversation')}"
                        ).classes("text-xs text-slate-500 dark:text-slate-400")
                    button = ui.button(
                        "Chat",
                        icon="add_comment",
                        on_click=lambda a=assistant: ui.navigate.to(f"/chat/new?assistant={a.id}"),
                    ).props("flat dense no-caps")
                    button.props["aria-label"] = f"Chat with {assistant.name}"


@signed_in_page("/", "Dashboard")
async def dashboard_page(user: User) -> None:
    """This month's figures, the budget, usage charts and shortcuts back into work."""
    board = await run.io_bound(dashboard_for, user)
    with ui.row().classes("w-full items-end justify-between gap-2"):
        with ui.column().classes("gap-0"):
            heading(f"Welcome, {user.username}")
            ui.label("Your usage this month (UTC)").classes(EMPTY_TEXT)
        ui.button("Export CSV", icon="download", on_click=lambda: download_usage(user)).props(
            "outline no-caps"
        )
    budget_banner(board.budget)
    _cards(board)
    if board.is_empty:
        _empty_state()
    else:
        _charts(board)
    _shortcuts(board)
    if user.role == Role.admin:
        rows = await run.io_bound(feedback.satisfaction_by_assistant, user)
        satisfaction_table(rows, lambda: download_satisfaction(user))
