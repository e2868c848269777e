"""Feedback on answers: the thumbs and comment under an answer, and the owner's and admin's
views of what users said (data in, callbacks out; the page talks to `services.chat.feedback`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.icon_button import icon_button
from components.lazy import BuiltOnFirstUse
from services.chat.feedback import (
    DOWN,
    MAX_COMMENT_CHARS,
    UP,
    AssistantFeedback,
    AssistantSatisfaction,
    Satisfaction,
)

# (rating or None to take it back, comment) -> saved?
SaveFeedback = Callable[[int | None, str | None], Awaitable[bool]]
THUMBS = ((UP, "thumb_up", "Good answer"), (DOWN, "thumb_down", "Bad answer"))


class FeedbackControls:
    """Thumbs up / down under one answer (pressed state announced), then an optional comment.

    Clicking the pressed thumb again takes the rating back.
    """

    def __init__(self, rating: int | None, comment: str | None, on_save: SaveFeedback) -> None:
        self.rating, self.comment, self.on_save = rating, comment, on_save
        self.buttons: dict[int, ui.element] = {}
        for value, icon, label in THUMBS:  # in the answer's action row, no row of their own
            self.buttons[value] = icon_button(icon, label, lambda value=value: self._rate(value))
        self.comment_button = icon_button(
            "rate_review", "Comment on this answer", self._toggle_comment
        )
        # Most answers are never commented on: the form is built the first time it opens.
        self.form: ui.column | None = None
        self.input: ui.textarea | None = None
        self._form = BuiltOnFirstUse(self._build_form)
        self._show()

    def _build_form(self) -> None:
        with ui.column().classes("w-full max-w-xl gap-1") as self.form:
            self.input = (
                ui.textarea("Comment (optional)", value=self.comment or "")
                .props(f"outlined dense autogrow maxlength={MAX_COMMENT_CHARS}")
                .classes("w-full")
                .mark("feedback-comment")
            )
            with ui.row().classes("gap-2"):
                ui.button("Save comment", on_click=self._save_comment).props(
                    "unelevated dense no-caps size=sm"
                )
                ui.button("Cancel", on_click=lambda: self._show_form(False)).props(
                    "flat dense no-caps size=sm"
                )

    def _show_form(self, visible: bool) -> None:
        if visible:
            self._form.ensure()
        if self.form is not None:
            self.form.set_visibility(visible)

    def _show(self) -> None:
        for value, button in self.buttons.items():
            pressed = self.rating == value
            button.props(f"aria-pressed={'true' if pressed else 'false'}")
            button.props(f"color={'primary' if pressed else 'grey-7'}")
        self.comment_button.set_visibility(self.rating is not None)

    async def _rate(self, value: int) -> None:
        rating = None if self.rating == value else value
        if await self.on_save(rating, self.comment if rating is not None else None):
            self.rating = rating
            if rating is None:
                self.comment = None
                self._show_form(False)
            elif rating == DOWN and not self.comment:
                self._show_form(True)  # say what was wrong, if you like
            ui.notify("Thanks for the feedback" if rating is not None else "Rating removed")
        self._show()

    def _toggle_comment(self) -> None:
        opening = self.form is None or not self.form.visible
        self._show_form(opening)
        if opening and self.input is not None:
            self.input.value = self.comment or ""

    async def _save_comment(self) -> None:
        if self.rating is None or self.input is None:
            return
        comment = (self.input.value or "").strip() or None
        if await self.on_save(self.rating, comment):
            self.comment = comment
            self._show_form(False)
            ui.notify("Comment saved")


def satisfaction_text(satisfaction: Satisfaction) -> str:
    """ "75% positive (3 of 4 ratings)", or "No ratings yet"."""
    if not satisfaction.total:
        return "No ratings yet"
    ratings = "rating" if satisfaction.total == 1 else "ratings"
    return (
        f"{satisfaction.percent:g}% positive ({satisfaction.up} of {satisfaction.total} {ratings})"
    )


def feedback_section(data: AssistantFeedback) -> None:
    """The assistant page's feedback card: satisfaction, then the latest ratings and comments."""
    with ui.card().classes("w-full gap-2").props("flat bordered").mark("assistant-feedback"):
        ui.label("Feedback").classes("text-lg font-semibold")
        ui.label(satisfaction_text(data.satisfaction)).classes("font-medium").mark("satisfaction")
        if not data.entries:
            ui.label("Users rate answers with the thumbs under each one.").classes(
                "text-sm text-slate-600 dark:text-slate-300"
            )
            return
        with ui.column().classes("w-full gap-1"):
            for entry in data.entries:
                with ui.row().classes("w-full items-start gap-2 no-wrap text-sm"):
                    up = entry.rating > 0
                    ui.icon("thumb_up" if up else "thumb_down", size="xs").classes(
                        "text-emerald-700 dark:text-emerald-300"
                        if up
                        else "text-red-700 dark:text-red-300"
                    ).props(f'aria-label="{"Good answer" if up else "Bad answer"}" role=img')
                    ui.label(entry.comment or "(no comment)").classes(
                        "grow break-words whitespace-pre-wrap"
                        + ("" if entry.comment else " italic text-slate-600 dark:text-slate-300")
                    )
                    ui.label(entry.updated_at.strftime("%Y-%m-%d")).classes(
                        "text-slate-600 dark:text-slate-300 shrink-0"
                    )


def satisfaction_table(rows: list[AssistantSatisfaction], on_export: Callable) -> None:
    """The admin dashboard's satisfaction per assistant, with a CSV export button."""
    with ui.card().classes("w-full gap-2").props("flat bordered").mark("satisfaction-table"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Satisfaction per assistant").classes("text-lg font-semibold")
            ui.button("Export satisfaction CSV", icon="download", on_click=on_export).props(
                "outline no-caps dense"
            )
        if not rows:
            ui.label("No answer has been rated yet.").classes(
                "text-sm text-slate-600 dark:text-slate-300"
            )
            return
        columns = [
            {"name": "name", "label": "Assistant", "field": "name", "align": "left"},
            {"name": "owner", "label": "Owner", "field": "owner", "align": "left"},
            {"name": "satisfaction", "label": "Positive", "field": "satisfaction"},
            {"name": "ratings", "label": "Ratings", "field": "ratings"},
            {"name": "comments", "label": "Comments", "field": "comments"},
        ]
        ui.table(
            columns=columns,
            rows=[
                {
                    "id": row.assistant_id,
                    "name": row.name,
                    "owner": row.owner,
                    "satisfaction": f"{row.satisfaction.percent:g}%",
                    "ratings": row.satisfaction.total,
                    "comments": row.comments,
                }
                for row in rows
            ],
            row_key="id",
        ).props("flat dense").classes("w-full")
