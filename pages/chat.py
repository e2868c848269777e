"""The chat pages: `/chat`, `/chat/{conversation_id}` and `/chat/new?assistant=<id>`."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, run, ui

from components.assets import use_static
from components.chat_attachments import AttachCallbacks
from components.chat_composer import ChatComposer
from components.chat_message import (
    MessageActions,
    ReplyActivity,
    StreamingAnswer,
    message_bubble,
)
from components.layout import not_found_view
from core.errors import AuthError, BudgetExceeded, NotFound, ServiceError
from models import ConversationMessage, MessageRole, MessageStatus, User
from pages.chat_files import attach_callbacks, conversation_tools
from pages.chat_sidebar import conversation_sidebar
from pages.chat_temporary import temporary_chat_notice
from pages.shell import signed_in_page
from services.assistants.manage import list_assistants
from services.chat import conversations, generation, render_worker
from services.chat import turn as chat
from services.chat.chat_page import ChatPage, load_chat_page
from services.chat.folders import list_folders
from services.usage.pricing import format_usd

CONTINUE_PROMPT = "Please continue from where your last answer stopped."


def _assistant_options(user: User) -> list[tuple[int, str]]:
    return [(a.id, a.name) for a in list_assistants(user)]


def _load_page(user: User, conversation_id: int) -> ChatPage:
    """The page's one hop to a worker thread: one read, then the history rendered."""
    data = load_chat_page(user, conversation_id)
    render_worker.warm([(m.content, m.citations) for m in data.view.messages])
    return data


class ChatView:
    """One open conversation: header, messages, streaming replies and the composer."""

    def __init__(
        self,
        user: User,
        view: conversations.ConversationView,
        preview: chat.CostPreview,
        on_title: Callable[[int, str], None],
        attach: AttachCallbacks | None = None,
    ) -> None:
        self.user = user
        self.on_title = on_title
        self.conversation_id = view.conversation.id
        self.messages = view.messages
        self.live: dict[int, tuple[StreamingAnswer, ReplyActivity]] = {}
        self.seen_versions: dict[int, int] = {}
        self.slots: dict[int, ui.column] = {}
        self.composer: ChatComposer | None = None
        self._header(view)
        self.column = ui.column().classes("w-full gap-3 pb-2")
        with self.column:
            self.empty = (
                ui.label(
                    f"Say hello to {view.assistant.name if view.assistant else 'the assistant'}."
                ).classes("text-slate-500 py-8 self-center")
                if not self.messages
                else None
            )
            for message in self.messages:
                self._add(message)
        if view.assistant is not None and view.conversation.continued_by_id is None:
            self.composer = ChatComposer(
                self.send, self.stop, preview.range, preview.messages_left, attach
            )
            self.composer.set_busy(bool(self.live))
        self.client = ui.context.client
        self.client.on_delete(self._unsubscribe)

    def _header(self, view: conversations.ConversationView) -> None:
        conversation, assistant = view.conversation, view.assistant
        with ui.row().classes(
            "w-full items-center justify-between gap-2 pb-2 border-b border-slate-200 "
            "dark:border-slate-700"
        ):
            with ui.column().classes("gap-0 min-w-0"):
                self.title = ui.label(conversation.title).classes("text-lg font-semibold truncate")
                ui.label(
                    f"{assistant.name} · {assistant.model}" if assistant else "Assistant deleted"
                ).classes("text-sm text-slate-500")
            self.total = ui.label(f"Total {format_usd(conversation.cost_micros)}").classes(
                "text-sm font-medium px-2 py-1 rounded-lg bg-slate-100 dark:bg-slate-800"
            )
            self.total.props('aria-label="Conversation cost"')
            conversation_tools(self.user, conversation.id)
        if view.parent_title:
            with ui.row().classes("text-sm text-slate-500 items-center gap-1"):
                ui.icon("history", size="xs")
                ui.label("Continued from")
                ui.link(view.parent_title, f"/chat/{conversation.parent_id}")
        if view.continued_by_title:
            with ui.row().classes(
                "w-full text-sm items-center gap-1 p-2 rounded-lg bg-amber-50 dark:bg-amber-900/30"
            ):
                ui.icon("arrow_forward", size="xs")
                ui.label("This conversation reached its limit and continues in")
                ui.link(view.continued_by_title, f"/chat/{conversation.continued_by_id}")

    # ------------------------------------------------------------ drawing

    def _actions(self, message: ConversationMessage) -> MessageActions:
        last = bool(self.messages) and message.id == self.messages[-1].id
        last_user = next((m for m in reversed(self.messages) if m.role == MessageRole.user), None)
        retry = self.regenerate if last and message.role == MessageRole.assistant else None
        return MessageActions(
            on_copy=self.copy,
            on_retry=retry,
            on_regenerate=retry,
            on_continue=self.continue_reply if retry is not None else None,
            on_edit=(
                (lambda: self.composer.start_edit(message.content))
                if self.composer is not None
                and last_user is not None
                and message.id == last_user.id
                else None
            ),
        )

    def _add(self, message: ConversationMessage) -> None:
        running = generation.get(message.id) if message.status == MessageStatus.streaming else None
        with ui.column().classes("w-full gap-1") as slot:
            live = message_bubble(
                message, self._actions(message), running.text if running else None
            )
            activity = ReplyActivity()
        if live is not None and running is not None:
            activity.show(running.activity, running.activity_since)
            self.live[message.id] = (live, activity)
            self.seen_versions[message.id] = running.version
            running.subscribe(self.flush)
        self.slots[message.id] = slot

    def _redraw(self, message: ConversationMessage) -> None:
        slot = self.slots[message.id]
        slot.clear()
        with slot:
            message_bubble(message, self._actions(message))

    def _unsubscribe(self) -> None:
        for message_id in self.live:
            if running := generation.get(message_id):
                running.unsubscribe(self.flush)

    def flush(self) -> None:
        """After each burst of streamed text (~100 ms): show it; finish ended replies."""
        if self.client.is_deleted:
            return
        for message_id, (live, activity) in list(self.live.items()):
            running = generation.get(message_id)
            if running is not None and not running.finished:
                if running.version != self.seen_versions.get(message_id):
                    self.seen_versions[message_id] = running.version
                    live.update(running.text)
                    activity.show(running.activity, running.activity_since)
                continue
            del self.live[message_id]
            background_tasks.create(self._finished(message_id), name="chat-reply-finished")

    async def _finished(self, message_id: int) -> None:
        try:
            message, conversation, preview = await run.io_bound(
                chat.reply_outcome, self.user, message_id
            )
        except NotFound:
            return
        finally:
            if self.composer is not None and not self.live:
                self.composer.set_busy(False)
        self.messages = [message if m.id == message_id else m for m in self.messages]
        await run.io_bound(render_worker.warm, [(message.content, message.citations)])
        self._redraw(message)
        self.total.text = f"Total {format_usd(conversation.cost_micros)}"
        if self.title.text != conversation.title:
            self.title.text = conversation.title
            self.on_title(conversation.id, conversation.title)
        if self.composer is not None and preview is not None:
            self.composer.estimate = preview.range
            self.composer.messages_left = preview.messages_left

    # ------------------------------------------------------------ actions

    def copy(self, text: str) -> None:
        ui.clipboard.write(text)
        ui.notify("Copied")

    async def send(self, model: str | None = None) -> None:
        composer = self.composer
        if composer is None:
            return
        text = composer.text
        files = composer.attachment_ids
        if composer.busy or not composer.attachments_ready or not (text.strip() or files):
            return
        composer.set_busy(True)
        try:
            if composer.editing:
                turn = await chat.edit_last(self.user, self.conversation_id, text)
            else:
                turn = await chat.send(self.user, self.conversation_id, text, files, model)
        except BudgetExceeded as exc:
            composer.show_error(str(exc))
            composer.set_busy(False)
            await self._offer_cheaper(text)
            return
        except ServiceError as exc:
            composer.show_error(str(exc))
            composer.set_busy(False)
            if isinstance(exc, AuthError):  # revoked while the page was open
                ui.navigate.to("/login")
            return
        if turn.warning:
            ui.notify(turn.warning, type="warning")
        if turn.conversation_id != self.conversation_id:
            ui.navigate.to(f"/chat/{turn.conversation_id}?continued=1")
            return
        was_edit = composer.editing
        composer.sent(composer.messages_left - (0 if was_edit else 2))
        await self._show_turn(turn, replaced=was_edit)

    async def _offer_cheaper(self, text: str) -> None:
        """When a budget refuses, offer the cheapest catalog model that fits, for this message."""
        try:
            found = await run.io_bound(chat.cheaper_model, self.user, self.conversation_id, text)
        except ServiceError:
            return
        if found is None or self.composer is None:
            return

        async def use_it() -> None:
            await self.send(model=found.id)

        self.composer.offer(
            f"Send this message with {found.label} (up to {format_usd(found.worst_micros)})",
            use_it,
        )

    async def regenerate(self) -> None:
        if self.live:
            return
        try:
            turn = await chat.regenerate(self.user, self.conversation_id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            if isinstance(exc, AuthError):
                ui.navigate.to("/login")
            return
        await self._show_turn(turn, replaced=True)

    async def continue_reply(self) -> None:
        """Ask the model to go on from where a cut-off reply stopped (a new turn)."""
        if self.live or (self.composer is not None and self.composer.busy):
            return
        try:
            turn = await chat.send(self.user, self.conversation_id, CONTINUE_PROMPT)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        if turn.conversation_id != self.conversation_id:
            ui.navigate.to(f"/chat/{turn.conversation_id}?continued=1")
            return
        if self.composer is not None:
            self.composer.set_busy(True)
            self.composer.messages_left -= 2
        await self._show_turn(turn, replaced=False)

    async def _show_turn(self, turn: chat.Turn, replaced: bool) -> None:
        """Draw the user's message (unless it is already there) and the streaming reply."""
        if self.empty is not None:
            self.empty.delete()
            self.empty = None
        question = turn.question or await run.io_bound(
            conversations.get_message, self.user, turn.user_message_id
        )
        if replaced:
            old = self.messages.pop()  # the replaced answer
            self.slots.pop(old.id).delete()
            self.messages[-1] = question
            self._redraw(question)
        else:
            self.messages.append(question)
            with self.column:
                self._add(question)
        reply = turn.reply or ConversationMessage(
            id=turn.assistant_message_id,
            conversation_id=turn.conversation_id,
            role=MessageRole.assistant,
            status=MessageStatus.streaming,
        )
        self.messages.append(reply)
        for earlier in self.messages[:-2]:
            if earlier.id in self.slots and earlier.role == MessageRole.assistant:
                self._redraw(earlier)  # drop Regenerate from the previous answer
                break
        with self.column:
            self._add(reply)
        if turn.assistant_message_id not in self.live:
            await self._finished(turn.assistant_message_id)  # already done
        if self.composer is not None:
            self.composer.set_busy(bool(self.live))

    async def stop(self) -> None:
        for message_id in list(self.live):
            chat.stop(self.user, message_id)


def _chat_layout(
    user: User,
    assistants: list,
    active_id: int | None,
    first_page: conversations.ConversationPage,
    folder_list: list,
    on_renamed: Callable[[int, str], None] = lambda _id, _title: None,
) -> tuple[ui.column, Callable[[int, str], None]]:
    """The two-column layout; returns the right column and a function retitling a list item.

    `on_renamed` hears about renames made in the list (the open conversation's header).
    """
    use_static("chat.css", "copy_code.js", "chat_scroll.js")
    with ui.row().classes("w-full gap-4 flex-col md:flex-row no-wrap items-stretch"):
        chat_list = conversation_sidebar(
            user, assistants, folder_list, first_page, active_id, on_renamed
        )
        right = ui.column().classes("flex-1 min-w-0 gap-3")
    return right, chat_list.retitle


def _home_data(user: User) -> tuple[list, conversations.ConversationPage, list]:
    return _assistant_options(user), conversations.list_conversations(user), list_folders(user)


@signed_in_page("/chat", "Chat")
async def chat_home(user: User) -> None:
    """The conversation list, with an invitation to start or pick a conversation."""
    assistants, first_page, folder_list = await run.io_bound(_home_data, user)
    right, _ = _chat_layout(user, assistants, None, first_page, folder_list)
    with right, ui.column().classes("w-full items-center py-16 gap-2 text-center"):
        ui.icon("forum", size="3rem").classes("text-slate-400")
        if not assistants:
            ui.label("Create an assistant to start chatting.").classes("text-lg")
            ui.button("New assistant", on_click=lambda: ui.navigate.to("/assistants/new")).props(
                "unelevated no-caps"
            )
        elif not first_page.items:
            ui.label("No conversations yet.").classes("text-lg")
            ui.label("Pick an assistant and press New chat.").classes("text-slate-500")
        else:
            ui.label("Pick a conversation or start a new one.").classes("text-lg")


@signed_in_page("/chat/new", "Chat")
async def chat_new(user: User, assistant: int = 0, temporary: int = 0) -> None:
    """Start a conversation (or a temporary chat) with an assistant and open it."""
    try:
        conversation = await run.io_bound(
            conversations.create_conversation, user, assistant, bool(temporary)
        )
    except NotFound:
        not_found_view()
        return
    ui.navigate.to(f"/chat/{conversation.id}")


@signed_in_page("/chat/{conversation_id}", "Chat")
async def chat_page(user: User, conversation_id: int, continued: int = 0) -> None:
    """One conversation."""
    try:
        data = await run.io_bound(_load_page, user, conversation_id)
    except NotFound:
        not_found_view()
        return
    view = data.view
    preview = data.preview or chat.CostPreview(0, None, 0)
    assistants = data.assistants
    attach = attach_callbacks(user, conversation_id, data.model, data.pending)
    chat_view: ChatView | None = None

    def renamed(renamed_id: int, title: str) -> None:
        if chat_view is not None and renamed_id == chat_view.conversation_id:
            chat_view.title.text = title

    right, retitle = _chat_layout(
        user, assistants, conversation_id, data.conversations, data.folders, renamed
    )
    with right:
        if view.conversation.temporary:
            temporary_chat_notice(user, conversation_id)
        if data.storage_notice:
            ui.label(data.storage_notice).classes(
                "text-sm p-2 rounded-lg bg-amber-50 dark:bg-amber-900/30"
            )
        if continued:
            ui.label(
                "This conversation reached its message limit, so it continues here "
                "with a summary of the earlier one."
            ).classes("text-sm p-2 rounded-lg bg-indigo-50 dark:bg-indigo-900/30")
        chat_view = ChatView(user, view, preview, retitle, attach)
    if chat_view.composer is not None and chat_view.composer.attachments is not None:
        chat_view.composer.attachments.accept_drop(right)  # drop files on the conversation
