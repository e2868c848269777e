"""Form helpers: a form-wide message line and one submit routine for every form."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nicegui import ui

from core.errors import AuthError, ServiceError, Unavailable, ValidationError

log = logging.getLogger(__name__)


def new_password_inputs(
    label: str = "Password", confirm_label: str = "Confirm password", autofocus: bool = False
) -> tuple[ui.input, ui.input]:
    """A new password (with a show toggle) and its confirmation, labelled for the form."""
    password = (
        ui.input(label, password=True, password_toggle_button=True)
        .props("autocomplete=new-password" + (" autofocus" if autofocus else ""))
        .classes("w-full")
    )
    confirm = (
        ui.input(confirm_label, password=True).props("autocomplete=new-password").classes("w-full")
    )
    return password, confirm


class FormMessage:
    """A line under a form for messages that belong to the whole form, hidden when empty."""

    def __init__(self) -> None:
        self.label = ui.label().classes("text-sm text-red-600 dark:text-red-400")
        self.label.set_visibility(False)

    def show(self, message: str) -> None:
        """Show a message."""
        self.label.set_text(message)
        self.label.set_visibility(True)

    def clear(self) -> None:
        """Hide the message."""
        self.label.set_visibility(False)


async def submit_form(
    button: ui.button,
    fields: dict[str, ui.input],
    message: FormMessage,
    action: Callable[[], Awaitable[None]],
) -> None:
    """Run a form action once at a time (double clicks are ignored) with a busy button.

    A ValidationError shows next to the field it names (or under the form), any other
    ServiceError under the form, and an unreachable database as a friendly message. A
    session that ended meanwhile (AuthError) sends the browser to the sign-in page.
    """
    if not button.enabled:
        return
    for element in fields.values():
        element.error = None
    message.clear()
    button.disable()
    button.props("loading")
    try:
        await action()
    except ValidationError as exc:
        target = fields.get(exc.field or "")
        if target is not None:
            target.error = str(exc)
        else:
            message.show(str(exc))
    except Unavailable as exc:
        log.warning("database unreachable during a form action")
        message.show(str(exc))
    except AuthError as exc:
        message.show(str(exc))
        if ui.context.client.request.url.path != "/login":
            ui.navigate.to("/login")
    except ServiceError as exc:
        message.show(str(exc))
    finally:
        button.enable()
        button.props(remove="loading")
