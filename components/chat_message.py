"""Chat bubbles: the one place that renders message text, finished or streaming.

Answers are rendered by `services.chat.rendering` (server-side sanitized HTML, remote images
neutralized), so `ui.html(..., sanitize=False)` only ever receives its output.

While a reply streams, finished blocks (paragraphs, lists, closed code fences) are frozen
into their own Markdown elements once, and only the open tail (the text since the last blank
line) is redrawn, formatted as it will look when finished; an open code block grows by
appending only the new characters in the browser. A 1,000-token reply therefore costs each
block's HTML once plus its short tail per burst, instead of the whole message per update.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from nicegui import Client, background_tasks, run, ui

from components.branch_switch import BranchSwitch, branch_switch
from components.chat_attachments import generated_files, sent_attachments
from components.chat_cost import cost_badge
from components.icon_button import icon_button
from models import ConversationMessage, MessageRole, MessageStatus
from services.chat.code_highlight import code_block_html
from services.chat.render_worker import render_isolated
from services.chat.rendering import plain_html, render_if_cheap, render_partial

FENCE = "```"
RATEABLE = (MessageStatus.complete, MessageStatus.incomplete)
THINKING_TEXT = "Thinking…"
# A streaming tail (text since the last blank line) longer than this is shown as plain text
# until its block ends: re-rendering costs ~4 us per character on every burst (~100 ms).
PARTIAL_RENDER_CHARS = 4_000
_FENCE_OR_BLANK = re.compile(f"{FENCE}|\n\n+")
# A tail of letters, digits, spaces and these marks on one line, starting with a letter, is one
# paragraph of plain text in Markdown whatever follows it: new words of that kind are appended
# to it in the browser instead of re-rendering and re-sending the whole tail on every burst.
_PLAIN_PROSE = re.compile(r"[^\W\d_](?:[^\W_]|[ ,.;:?!'])*")

Action = Callable[[], Awaitable[None] | None]


@dataclass
class MessageActions:
    """Callbacks offered on a message (None hides the button)."""

    on_copy: Callable[[str], None]
    on_retry: Action | None = None
    on_regenerate: Action | None = None
    on_edit: Action | None = None
    on_continue: Action | None = None
    on_fork: Action | None = None  # "Continue in a new chat from here"
    branch: BranchSwitch | None = None  # ‹ 2/3 › among the message's siblings
    # Draws the answer's feedback controls (components.feedback) in its action row.
    feedback_row: Callable[[ConversationMessage], None] | None = None


class ReplyActivity:
    """The line under a streaming reply: tool progress or "Thinking… 12 s", counting up.

    Reasoning models can be silent for minutes, so a 1 s timer keeps the seconds moving
    while nothing streams.
    """

    def __init__(self) -> None:
        self.label = ui.label("").classes("text-xs text-slate-500 dark:text-slate-400 italic")
        self.label.props('role=status aria-live="polite"').mark("reply-activity")
        self.text: str | None = None
        self.since = 0.0
        self.timer = ui.timer(1.0, self._tick, active=False)

    def show(self, text: str | None, since: float) -> None:
        """Show `text` (None hides it) begun at `since` (time.monotonic())."""
        if text == self.text and since == self.since:
            return
        self.text, self.since = text, since
        self.timer.active = text is not None
        self._tick()

    def _tick(self) -> None:
        if self.text is None:
            shown = ""
        else:
            seconds = int(time.monotonic() - self.since)
            shown = f"{self.text} {seconds} s" if seconds >= 1 else self.text
        if self.label.text != shown:
            self.label.text = shown


def markdown_html(text: str, citations: list[dict] | None = None) -> ui.html:
    """Sanitized Markdown (with numbered citations) as an element.

    Long text that is not cached yet shows as escaped plain text at once and is rendered in
    the render worker process, so no message, however crafted, holds the event loop.
    """
    html = render_if_cheap(text, citations)
    element = ui.html(plain_html(text) if html is None else html, sanitize=False)
    if html is None:
        background_tasks.create(_render_later(element, text, citations), name="render markdown")
    return element.classes("chat-md w-full")


async def _render_later(element: ui.html, text: str, citations: list[dict] | None) -> None:
    html = await run.io_bound(render_isolated, text, citations)
    if html is not None and not element.is_deleted:
        element.content = html


def frozen_boundary(text: str, start: int) -> int:
    """Where the finished blocks of `text` end: after the last blank line outside a code fence,
    or at a fence's edges (before an opening fence line, after a closing fence line), so that
    an open code block is the whole tail and streams in by appending (see `StreamingAnswer`).

    `start` is such a boundary already (or 0), so one pass over the rest is enough: linear per
    call, however many blank lines an open fence holds.
    """
    boundary, in_fence = start, False
    for match in _FENCE_OR_BLANK.finditer(text, start):
        if match[0] == FENCE:
            at_line_start = match.start() == 0 or text[match.start() - 1] == "\n"
            if in_fence:
                line_end = text.find("\n", match.end())
                if at_line_start and line_end != -1:
                    boundary = line_end + 1
            elif at_line_start:
                boundary = match.start()
            in_fence = not in_fence
        elif not in_fence:
            boundary = match.end()
    return max(boundary, start)


def _open_fence_body(tail: str) -> int | None:
    """Where the code of an open fence starts when `tail` is exactly one open code block."""
    if not tail.startswith(FENCE):
        return None
    first_line_end = tail.find("\n")
    if first_line_end == -1 or f"\n{FENCE}" in tail[first_line_end:]:
        return None  # the fence line is still arriving, or the block is closed
    return first_line_end + 1


class StreamingAnswer:
    """A reply that is still arriving; call `update(text)` with the whole text so far.

    Before the first token it shows a "Thinking…" indicator. Then finished blocks are frozen
    into their own elements once, and the open tail is drawn formatted from the first
    character: prose through `render_partial` (open `**`, lists, code spans, math closed as
    they will be), and an open code block as a code block whose text grows by appending only
    the new characters in the browser (highlighted once it closes). A tail past
    PARTIAL_RENDER_CHARS without a blank line is appended as plain text: it would cost too
    much to re-render on every burst.
    """

    def __init__(self, text: str = "") -> None:
        self.container = ui.column().classes("w-full gap-0 chat-streaming")
        self.frozen = frozen_boundary(text, 0)
        self.code_shown: int | None = None  # how much of the text the open code block shows
        self.plain_shown: int | None = None  # the same for a too-long tail shown as text
        self.prose_shown: str | None = None  # the plain-prose tail the browser shows
        with self.container:
            self.thinking = thinking_indicator() if not text else None
            if self.frozen:
                markdown_html(text[: self.frozen])
            self.tail = ui.html("", sanitize=False).classes("chat-md chat-tail w-full break-words")
            self.tail.mark("streaming-answer")
        self.shown = 0
        self._draw_tail(text)

    def update(self, text: str) -> None:
        """Show `text` (which only ever grows) by freezing blocks and redrawing the tail."""
        if len(text) == self.shown:
            return
        if self.thinking is not None:
            self.thinking.delete()
            self.thinking = None
        cut = frozen_boundary(text, self.frozen)
        if cut > self.frozen:
            with self.container:
                block = markdown_html(text[self.frozen : cut])
            tail_index = self.container.default_slot.children.index(self.tail)
            block.move(self.container, target_index=tail_index)
            self.frozen = cut
            self.code_shown = self.plain_shown = self.prose_shown = None
        self._draw_tail(text)

    def _draw_tail(self, text: str) -> None:
        tail = text[self.frozen :]
        element = f"getHtmlElement({self.tail.id})"
        body = _open_fence_body(tail)
        if body is not None:
            # Hold back a line that may be the closing fence, so "``" never shows as code.
            last_line = text.rfind("\n") + 1
            start = self.frozen + body
            upto = max(last_line, start) if text.startswith("`", last_line) else len(text)
            if self.code_shown is None:
                info = tail[len(FENCE) : body - 1]
                self._set_tail(code_block_html(text[start:upto], info))
            elif upto > self.code_shown:
                code = f"{element}.querySelector('code')"
                _send_js(self.tail.client, f"{code}.insertAdjacentText('beforeend',"
                         f"{_js(text[self.code_shown : upto])})")  # fmt: skip
            self.code_shown = max(upto, self.code_shown or 0)
        elif len(tail) > PARTIAL_RENDER_CHARS:
            if self.plain_shown is None:
                self._set_tail(plain_html(tail))
            else:
                _send_js(self.tail.client, f"{element}.lastElementChild.insertAdjacentText("
                         f"'beforeend',{_js(text[self.plain_shown :])})")  # fmt: skip
            self.plain_shown = len(text)
        elif self.prose_shown is not None and _PLAIN_PROSE.fullmatch(tail):
            shown = tail.rstrip()  # Markdown drops a paragraph's trailing spaces
            if len(shown) > len(self.prose_shown):
                _send_js(self.tail.client, f"{element}.lastElementChild.insertAdjacentText("
                         f"'beforeend',{_js(shown[len(self.prose_shown) :])})")  # fmt: skip
                self.prose_shown = shown
        else:
            self.code_shown = self.plain_shown = None
            self._set_tail(render_partial(tail))
            self.prose_shown = tail.rstrip() if _PLAIN_PROSE.fullmatch(tail) else None
        self.shown = len(text)

    def _set_tail(self, html: str) -> None:
        self.tail.content = html
        self.tail.update()  # the browser may hold appended text the server copy lacks


def thinking_indicator() -> ui.html:
    """What an answer shows before its first token: animated dots and "Thinking…", announced
    politely (not `role=status`: that is the activity line under the reply, which takes over
    with "Thinking… 12 s" when a reasoning model reports its thinking). One element."""
    indicator = ui.html(
        '<span class="thinking-dots" aria-hidden="true"><i></i><i></i><i></i></span>'
        f'<span class="text-sm text-slate-600 dark:text-slate-300">{THINKING_TEXT}</span>',
        sanitize=False,
    )
    indicator.classes("flex items-center gap-2 py-1 thinking-indicator")
    return indicator.props('aria-live="polite"').mark("thinking-indicator")


def _send_js(client: Client, code: str) -> None:
    """`client.run_javascript(code)` without its per-call task and request id.

    The result is never awaited, so the message goes straight to the client's outbox (as
    `run_javascript`'s fire-and-forget path does one loop iteration later).
    """
    if not client.is_deleted:
        client.outbox.enqueue_message("run_javascript", {"code": code}, client.id)


def _js(text: str) -> str:
    return orjson.dumps(text).decode()


def bubble_alignment(message: ConversationMessage) -> str:
    """The classes of the column a bubble is drawn in: questions right, answers left."""
    return "items-end" if message.role == MessageRole.user else "items-start"


def message_bubble(
    message: ConversationMessage, actions: MessageActions, streaming_text: str | None = None
) -> StreamingAnswer | None:
    """One message as a chat bubble, drawn into the current container (a column aligned by
    `bubble_alignment`); returns the live view when the reply is streaming."""
    if message.role == MessageRole.user:
        _user_bubble(message, actions)
        return None
    return _assistant_bubble(message, actions, streaming_text)


def _user_bubble(message: ConversationMessage, actions: MessageActions) -> None:
    with ui.element("div").classes(
        "max-w-[85%] rounded-2xl rounded-br-sm px-4 py-2 bg-indigo-600 text-white "
        "dark:bg-indigo-500 shadow-sm"
    ):
        ui.label(message.content).classes("whitespace-pre-wrap break-words")
        sent_attachments(message.attachments or [])
    with ui.row().classes("gap-0 text-slate-500"):
        icon_button("content_copy", "Copy message", lambda: actions.on_copy(message.content))
        if actions.on_edit:
            icon_button("edit", "Edit message", actions.on_edit)
        _tree_actions(actions, "version")


def _assistant_bubble(
    message: ConversationMessage, actions: MessageActions, streaming_text: str | None
) -> StreamingAnswer | None:
    live = None
    with ui.element("div").classes(
        "max-w-[95%] sm:max-w-[85%] rounded-2xl rounded-bl-sm px-4 py-2 shadow-sm chat-answer"
    ):
        if message.status == MessageStatus.streaming:
            live = StreamingAnswer(streaming_text or message.content)
        elif message.content:
            markdown_html(message.content, message.citations)
        elif message.status == MessageStatus.complete:
            ui.label("(empty reply)").classes("italic text-slate-500")
        generated_files(message.tool_calls)
        _reasoning_summary(message)
    if message.status in (MessageStatus.failed, MessageStatus.stopped):
        _problem(message, actions)
    elif message.status == MessageStatus.incomplete:
        _incomplete(message, actions)
    elif message.status == MessageStatus.refused:
        _refusal(actions)
    if message.status != MessageStatus.streaming:
        with ui.row().classes("items-center gap-1 text-slate-500"):
            icon_button("content_copy", "Copy answer", lambda: actions.on_copy(message.content))
            if actions.on_regenerate and message.status == MessageStatus.complete:
                icon_button("refresh", "Regenerate", actions.on_regenerate)
            _tree_actions(actions, "answer")
            if actions.feedback_row and message.status in RATEABLE:
                actions.feedback_row(message)
            cost_badge(message)
    return live


def _tree_actions(actions: MessageActions, noun: str) -> None:
    if actions.on_fork:
        icon_button("call_split", "Continue in a new chat from here", actions.on_fork)
    if actions.branch is not None:
        branch_switch(actions.branch, noun)


def _reasoning_summary(message: ConversationMessage) -> None:
    """The model's reasoning summary, collapsed (its tokens are already in the output)."""
    seconds = (message.tool_calls or {}).get("thinking_seconds")
    summary = (message.reasoning_summary or "").strip()
    if not (summary or seconds):
        return
    title = f"Thought for {round(seconds)} s" if seconds else "Reasoning"
    if not summary:
        ui.label(title).classes("text-xs text-slate-500 dark:text-slate-400")
        return
    with (
        ui.expansion(title, icon="psychology")
        .props("dense")
        .classes("w-full text-sm text-slate-600 dark:text-slate-300")
        .mark("reasoning-summary")
    ):
        ui.label(summary).classes("whitespace-pre-wrap break-words text-sm")


def _incomplete(message: ConversationMessage, actions: MessageActions) -> None:
    """A reply the provider (or the app's cap) cut short: the reason, Continue and Retry."""
    with ui.row().classes(
        "items-center gap-2 px-3 py-1 rounded-lg text-sm bg-amber-50 text-amber-900 "
        "dark:bg-amber-900/30 dark:text-amber-100"
    ):
        ui.icon("content_cut", size="xs")
        ui.label(message.error or "The reply was cut short.")
        if actions.on_continue:
            ui.button("Continue", icon="play_arrow", on_click=actions.on_continue).props(
                "flat dense no-caps size=sm"
            )
        if actions.on_retry:
            ui.button("Retry", icon="replay", on_click=actions.on_retry).props(
                "flat dense no-caps size=sm"
            )


def _refusal(actions: MessageActions) -> None:
    with ui.row().classes(
        "items-center gap-2 px-3 py-1 rounded-lg text-sm bg-slate-100 text-slate-700 "
        "dark:bg-slate-800 dark:text-slate-200"
    ):
        ui.icon("block", size="xs")
        ui.label("The model declined to answer this.")
        if actions.on_retry:
            ui.button("Retry", icon="replay", on_click=actions.on_retry).props(
                "flat dense no-caps size=sm"
            )


def _problem(message: ConversationMessage, actions: MessageActions) -> None:
    stopped = message.status == MessageStatus.stopped
    with ui.row().classes(
        "items-center gap-2 px-3 py-1 rounded-lg text-sm "
        + (
            "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200"
            if stopped
            else "bg-red-50 text-red-800 dark:bg-red-900/30 dark:text-red-200"
        )
    ):
        ui.icon("stop_circle" if stopped else "error_outline", size="xs")
        ui.label("Stopped." if stopped else (message.error or "The reply failed."))
        if actions.on_retry:
            ui.button("Retry", icon="replay", on_click=actions.on_retry).props(
                "flat dense no-caps size=sm"
            )
