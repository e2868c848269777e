"""The message composer: a growing textarea, Send / Stop, cost preview and cap countdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import ui
from nicegui.events import GenericEventArguments

from components.chat_attachments import AttachCallbacks, ChatAttachments
from components.lazy import BuiltOnFirstUse
from components.prompt_picker import PICKER_INPUT_JS, PICKER_KEYS_JS, PromptPicker
from components.shortcuts import mark_shortcut
from services.chat.turn import MAX_MESSAGE_CHARS
from services.usage.pricing import format_usd

if TYPE_CHECKING:
    from services.chat.prompts import PromptItem
    from services.chat.turn import CostEstimate

# Enter sends, Shift+Enter (or IME composition) inserts a newline: decided in the browser.
# Enter carries the box's text: a value update still on its way (the browser sends it as a
# separate event) must not make Enter send an empty or shorter message.
ENTER_SENDS_JS = (
    "(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) "
    "{ e.preventDefault(); emit(e.target.value); } }"
)
NEAR_CAP = 10


class ChatComposer:
    """Composer bound to callbacks; `estimate(draft)` gives the cost preview (a `CostEstimate`
    with low, typical and high micro-dollars, or None when the price is unknown)."""

    def __init__(
        self,
        on_send: Callable[[], Awaitable[None]],
        on_stop: Callable[[], Awaitable[None] | None],
        estimate: Callable[[str], CostEstimate | None],
        messages_left: int,
        attach: AttachCallbacks | None = None,
    ) -> None:
        self.estimate = estimate
        self._on_stop = on_stop
        self.messages_left = messages_left
        self.busy = False
        self.editing = False
        self._on_send = on_send
        self.picker: PromptPicker | None = None
        self.editing_id: int | None = None  # the message being edited (None: my last one)
        with ui.column().classes(
            "chat-composer w-full gap-1 sticky bottom-0 z-10 pt-2 pb-1"
        ) as self.column:
            self.edit_bar: ui.row | None = None
            self._edit_bar = BuiltOnFirstUse(self._build_edit_bar)  # most pages never edit
            self.attachments = ChatAttachments(attach, self._refresh_send) if attach else None
            with ui.row().classes("w-full items-end gap-1 sm:gap-2 no-wrap"):
                if self.attachments is not None:
                    self.attachments.buttons()
                self.textarea = (
                    ui.textarea(label="Message", on_change=self._refresh_hint)
                    .props(
                        f"autogrow outlined dense rows=1 maxlength={MAX_MESSAGE_CHARS} autofocus"
                    )
                    .classes("flex-1 rounded max-h-72 overflow-auto")
                )
                mark_shortcut(self.textarea, "composer")
                self.textarea.on("keydown", self._enter, js_handler=ENTER_SENDS_JS)
                if self.attachments is not None:
                    self.attachments.accept_paste(self.textarea)
                self.send_button = (
                    ui.button("Send", icon="send", on_click=on_send)
                    .props('unelevated no-caps aria-label="Send"')  # the icon alone on phones
                    .classes("chat-send")
                )
                self.stop_button = ui.button("Stop", icon="stop", on_click=self._stop).props(
                    "outline no-caps color=negative"
                )
                mark_shortcut(self.stop_button, "stop")
                self.stop_button.visible = False
            self.error = ui.label("").classes("text-sm text-red-600 dark:text-red-300")
            self.error.visible = False
            self._offer_action: Callable[[], Awaitable[None]] | None = None
            self.offer_button = ui.button("", on_click=self._take_offer)
            self.offer_button.props("outline dense no-caps").classes("text-sm")
            self.offer_button.visible = False
            self.hint = ui.label("").classes("text-xs text-slate-500 dark:text-slate-400")
        self._refresh_hint()

    def use_prompts(self, prompts: list[PromptItem]) -> None:
        """Offer the prompt library: `/` at the start of the message opens the picker."""
        with self.column:
            self.picker = PromptPicker(prompts, self._insert_prompt)
        self.picker.panel.move(self.column, target_index=0)
        self.textarea.on_value_change(lambda e: self.picker.update(e.value or ""))
        self.textarea.on(
            "beforeinput", lambda e: self.picker.update(e.args), js_handler=PICKER_INPUT_JS
        )
        self.textarea.on("keydown", lambda e: self.picker.key(e.args), js_handler=PICKER_KEYS_JS)

    def _insert_prompt(self, text: str) -> None:
        self.textarea.value = text
        self.textarea.run_method("focus")

    async def _enter(self, event: GenericEventArguments) -> None:
        """Enter: take the highlighted prompt while the picker is open, else send the text the
        browser had in the box when Enter was pressed."""
        if self.picker is not None and self.picker.is_open:
            self.picker.choose()
            return
        if isinstance(event.args, str) and event.args != self.textarea.value:
            self.textarea.value = event.args  # too long: the send refuses it, saying why
        result = self._on_send()
        if result is not None:
            await result

    async def _stop(self) -> None:
        """Stop the reply and put focus back where typing goes on (the Stop button vanishes)."""
        result = self._on_stop()
        if result is not None:
            await result
        self.textarea.run_method("focus")

    @property
    def text(self) -> str:
        """What is typed."""
        return self.textarea.value or ""

    def _refresh_hint(self) -> None:
        parts = ["Enter to send, Shift+Enter for a new line"]
        parts.append(_cost_hint(self.estimate(self.text)))
        if self.messages_left <= NEAR_CAP:
            parts.append(f"{max(self.messages_left, 0)} messages left before this chat continues")
        text = " · ".join(parts)
        if self.hint.text != text:
            self.hint.text = text

    @property
    def attachment_ids(self) -> list[str]:
        """The attachments ready to go with the next message."""
        return self.attachments.ready_ids if self.attachments is not None else []

    @property
    def attachments_ready(self) -> bool:
        """No attachment is still uploading or being processed."""
        return self.attachments is None or self.attachments.all_ready

    def _refresh_send(self) -> None:
        self.send_button.set_enabled(not self.busy and self.attachments_ready)

    def set_busy(self, busy: bool) -> None:
        """While a reply streams: Send disabled, Stop shown (Send also waits for uploads)."""
        self.busy = busy
        self._refresh_send()
        self.stop_button.visible = busy

    def show_error(self, message: str | None) -> None:
        """An inline error under the composer (the typed text stays)."""
        self.error.text = message or ""
        self.error.visible = bool(message)
        if not message:
            self.offer(None, None)

    def offer(self, label: str | None, action: Callable[[], Awaitable[None]] | None) -> None:
        """A one-click way out under the error, e.g. sending with a cheaper model."""
        self._offer_action = action
        self.offer_button.text = label or ""
        self.offer_button.visible = bool(label and action)

    async def _take_offer(self) -> None:
        action, self._offer_action = self._offer_action, None
        self.offer_button.visible = False
        if action is not None:
            await action()

    def sent(self, messages_left: int) -> None:
        """Clear after a successful send."""
        self.messages_left = messages_left
        self.textarea.value = ""
        if self.attachments is not None and not self.editing:
            self.attachments.clear_sent()
        self.show_error(None)
        self.cancel_edit()

    def start_edit(self, text: str, message_id: int | None = None) -> None:
        """Put one of my messages (`message_id`; None: my last one) back in the composer."""
        self.editing = True
        self.editing_id = message_id
        self._edit_bar.ensure()
        self.edit_bar.visible = True
        self.textarea.value = text
        self.textarea.run_method("focus")

    def cancel_edit(self) -> None:
        """Leave edit mode (the text stays)."""
        self.editing = False
        self.editing_id = None
        if self.edit_bar is not None:
            self.edit_bar.visible = False

    def _build_edit_bar(self) -> None:
        with ui.row().classes("w-full items-center gap-2 text-sm") as self.edit_bar:
            ui.icon("edit", size="xs").classes("text-indigo-500")
            ui.label("Editing a message; sending starts a new branch (the old one stays).")
            ui.button("Cancel edit", on_click=self.cancel_edit).props("flat dense no-caps")
        self.edit_bar.move(target_index=0)  # above the message box


def _cost_hint(cost: CostEstimate | None) -> str:
    """ "≈ typical", with the low–high range when the answer's length is what decides."""
    if cost is None:
        return "cost unknown"
    if cost.high <= cost.typical:
        return f"this message ≈ {format_usd(cost.typical)}"
    return (
        f"this message ≈ {format_usd(cost.typical)} "
        f"({format_usd(cost.low)}–{format_usd(cost.high)} by answer length and tools)"
    )
