"""The chat pages: `/chat`, `/chat/{conversation_id}` and `/chat/new?assistant=<id>`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, run, ui

from components.assets import use_static
from components.branch_switch import BranchSwitch
from components.chat_attachments import AttachCallbacks
from components.chat_composer import ChatComposer
from components.chat_history import earlier_button, first_shown
from components.chat_message import (
    MessageActions,
    ReplyActivity,
    StreamingAnswer,
    bubble_alignment,
    message_bubble,
)
from components.chat_scroll import jump_to_latest_button
from components.feedback import FeedbackControls
from components.heading import heading
from components.layout import not_found_view
from core.errors import AuthError, BudgetExceeded, NotFound, ServiceError
from models import AnswerFeedback, ConversationMessage, MessageRole, MessageStatus, User
from pages.chat_files import attach_callbacks, conversation_tools
from pages.chat_sidebar import conversation_sidebar
from pages.chat_temporary import temporary_chat_notice
from pages.shell import signed_in_page
from services.assistants.manage import list_assistants
from services.chat import (
    branches,
    conversations,
    feedback,
    generation,
    progress,
    render_worker,
)
from services.chat import prompts as prompt_library
from services.chat import turn as chat
from services.chat.chat_page import ChatPage, load_chat_page
from services.chat.folders import list_folders
from services.usage.pricing import format_usd

CONTINUE_PROMPT = "Please continue from where your last answer stopped."
REPLY_ANNOUNCEMENTS = {
    MessageStatus.complete: "Reply complete.",
    MessageStatus.stopped: "Reply stopped.",
    MessageStatus.failed: "The reply failed.",
}


def _assistant_options(user: User) -> list[tuple[int, str]]:
    return [(a.id, a.name) for a in list_assistants(user)]


def _load_page(user: User, conversation_id: int) -> tuple[ChatPage, dict[int, AnswerFeedback]]:
    """The page's one hop to a worker thread: one read, the user's ratings, then the history
    rendered."""
    data = load_chat_page(user, conversation_id)
    ratings = feedback.conversation_feedback(user, conversation_id)
    render_worker.warm([(m.content, m.citations) for m in data.view.messages])
    return data, ratings


class ChatView:
    """One open conversation: header, messages, streaming replies and the composer."""

    def __init__(
        self,
        user: User,
        view: conversations.ConversationView,
        preview: chat.CostPreview,
        on_title: Callable[[int, str], None],
        attach: AttachCallbacks | None = None,
        ratings: dict[int, AnswerFeedback] | None = None,
    ) -> None:
        self.user = user
        self.ratings = ratings or {}
        self.on_title = on_title
        self.conversation_id = view.conversation.id
        self.messages = view.messages
        self.branches = view.branches
        self.live: dict[int, tuple[StreamingAnswer, ReplyActivity]] = {}
        # Stop (or Esc) pressed while a send is on its way: Stop shows at once, the reply exists
        # only once `chat.send` returns (seconds on a loaded server), and is stopped then.
        self.stop_requested = False
        self.seen_versions: dict[int, int] = {}
        self.slots: dict[int, ui.column] = {}
        self.followers: list[asyncio.Task] = []  # replies written by another instance
        self.composer: ChatComposer | None = None
        # Known before the messages are drawn (their buttons use them), so a reload draws the
        # same Edit/Regenerate and ‹ n/m › switches as a live page.
        self.client = ui.context.client
        self._regenerate = self._detached(self.regenerate)
        self._show_branch = self._detached(self.show_branch)
        self._fork = self._detached(self.fork)
        self.writable = view.assistant is not None and view.conversation.continued_by_id is None
        self._header(view)
        # The only part that scrolls (static/chat.css); chat_scroll.js follows its bottom.
        self.column = ui.column().classes("chat-messages w-full gap-3 pb-2 no-wrap")
        self.column.props('role=log aria-label="Messages"')
        self.first, self.earlier = 0, None
        with self.column:
            self.empty = (
                ui.label(
                    f"Say hello to {view.assistant.name if view.assistant else 'the assistant'}."
                ).classes("text-slate-500 py-8 self-center")
                if not self.messages
                else None
            )
            self._draw_history()
        jump_to_latest_button()
        if self.writable:
            self.composer = ChatComposer(
                self.send, self.stop, preview.range, preview.messages_left, attach
            )
            self.composer.set_busy(bool(self.live))
        # Screen readers hear when a streamed reply ends (the text itself is not re-read).
        self.announcer = ui.label("").classes("sr-only").props('role=status aria-live="polite"')
        self.client.on_delete(self._unsubscribe)

    def _header(self, view: conversations.ConversationView) -> None:
        conversation, assistant = view.conversation, view.assistant
        with ui.row().classes(
            "w-full items-center justify-between gap-2 pb-2 border-b border-slate-200 "
            "dark:border-slate-700"
        ):
            with ui.column().classes("gap-0 min-w-0"):
                self.title = heading(conversation.title).classes(
                    add="text-lg truncate max-w-full", remove="text-2xl"
                )
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
        """The buttons of one message; each acts on that message's id (checked server-side)."""
        message_id = message.id
        last = bool(self.messages) and message_id == self.messages[-1].id
        answer = message.role == MessageRole.assistant
        retry = (lambda: self._regenerate(message_id)) if answer and self.writable else None
        branch = self.branches.get(message_id)
        return MessageActions(
            on_copy=self.copy,
            on_retry=retry,
            on_regenerate=retry,
            on_continue=self.continue_reply if retry is not None and last else None,
            feedback_row=self._feedback_row,
            on_edit=(
                (lambda: self.composer.start_edit(message.content, message_id))
                if self.writable and not answer
                else None
            ),
            on_fork=lambda: self._fork(message_id),
            branch=None
            if branch is None
            else BranchSwitch(
                branch.index, branch.count, branch.previous_id, branch.next_id, self._show_branch
            ),
        )

    async def _reload(self) -> None:
        """Redraw the whole active branch from the database (after a tree change)."""
        # Not warmed in the render worker: what was shown is cached, a sibling renders late.
        view = await run.io_bound(conversations.conversation_view, self.user, self.conversation_id)
        if view is None or self.client.is_deleted:  # shutting down, or the tab closed
            return
        self._unsubscribe()
        self.live.clear()
        self.slots.clear()
        self.column.clear()
        self.empty = None
        self.messages, self.branches = view.messages, view.branches
        with self.column:
            self._draw_history()
        for message in self.messages[
            self.first :
        ]:  # a reply that ended before it could be subscribed
            if message.status == MessageStatus.streaming and message.id not in self.live:
                await self._finished(message.id)
        if self.composer is not None:
            self.composer.set_busy(bool(self.live))

    def _feedback_row(self, message: ConversationMessage) -> None:
        """Thumbs and comment under a finished answer, saved for this user and this answer."""
        given = self.ratings.get(message.id)
        message_id = message.id

        async def save(rating: int | None, comment: str | None) -> bool:
            try:
                if rating is None:
                    await run.io_bound(feedback.clear_rating, self.user, message_id)
                    self.ratings.pop(message_id, None)
                else:
                    self.ratings[message_id] = await run.io_bound(
                        feedback.rate_answer, self.user, message_id, rating, comment
                    )
            except ServiceError as exc:
                ui.notify(str(exc), type="negative")
                return False
            return True

        FeedbackControls(given.rating if given else None, given.comment if given else None, save)

    def _add(self, message: ConversationMessage) -> None:
        running = generation.get(message.id) if message.status == MessageStatus.streaming else None
        with ui.column().classes(f"w-full gap-1 {bubble_alignment(message)}") as slot:
            live = message_bubble(
                message, self._actions(message), running.text if running else None
            )
            # Only a reply still arriving has an activity line (a label and a 1 s timer).
            activity = ReplyActivity() if live is not None and running is not None else None
        if activity is not None:
            activity.show(running.activity, running.activity_since)
            self.live[message.id] = (live, activity)
            self.seen_versions[message.id] = running.version
            running.subscribe(self.flush)
        elif live is not None:  # being written by another instance (or by one that died)
            self.followers.append(
                background_tasks.create(self._follow(message.id, live), name="chat-reply-follow")
            )
        self.slots[message.id] = slot

    def _draw_history(self) -> None:
        """The newest page of messages, under "Load earlier messages" while older ones wait."""
        self.first = first_shown(len(self.messages))
        self.earlier = earlier_button(self.load_earlier) if self.first else None
        for message in self.messages[self.first :]:
            self._add(message)

    def load_earlier(self) -> None:
        """Draw the next page of older messages above the oldest one shown."""
        if self.earlier is None:
            return
        start = first_shown(len(self.messages), self.first)
        place = self.column.default_slot.children.index(self.earlier) + 1
        for offset, message in enumerate(self.messages[start : self.first]):
            with self.column:
                self._add(message)
            self.slots[message.id].move(self.column, target_index=place + offset)
        self.first = start
        if not start:
            self.earlier.delete()
            self.earlier = None

    def _redraw(self, message: ConversationMessage) -> None:
        slot = self.slots[message.id]
        slot.clear()
        with slot:
            message_bubble(message, self._actions(message))

    def _unsubscribe(self) -> None:
        for follower in self.followers:
            follower.cancel()
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

    async def _follow(self, message_id: int, live: StreamingAnswer) -> None:
        """Show a reply another instance writes, live, until its row is saved or closed."""
        if not await self._connected():
            return
        try:
            async for text in progress.follow(self.user, message_id):
                if self.client.is_deleted:
                    return
                live.update(text)
        except NotFound:
            return
        if not self.client.is_deleted and message_id in self.slots:
            await self._finished(message_id)

    async def _connected(self) -> bool:
        """Wait until the browser shows the page (updates sent earlier would miss it)."""
        try:
            await self.client.connected(timeout=30)
        except TimeoutError:
            return False
        return not self.client.is_deleted

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
        self.announcer.text = REPLY_ANNOUNCEMENTS.get(message.status, "Reply finished.")
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
        self.stop_requested = False
        try:
            if composer.editing:
                turn = await chat.edit(self.user, self.conversation_id, text, composer.editing_id)
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
        if self.stop_requested:
            chat.stop(self.user, turn.assistant_message_id)
        if turn.warning:
            ui.notify(turn.warning, type="warning")
        if turn.conversation_id != self.conversation_id:
            ui.navigate.to(f"/chat/{turn.conversation_id}?continued=1")
            return
        was_edit = composer.editing
        composer.sent(composer.messages_left - 2)
        if was_edit:
            await self._reload()
        else:
            await self._show_turn(turn)

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

    async def regenerate(self, message_id: int) -> None:
        """Answer again the question of answer `message_id`; the old answer stays a sibling."""
        if self.live:
            return
        try:
            await chat.regenerate(self.user, self.conversation_id, message_id)
        except ServiceError as exc:
            self._refused(exc)
            return
        if self.composer is not None:
            self.composer.messages_left -= 1
        await self._reload()

    async def show_branch(self, message_id: int) -> None:
        """Show the sibling `message_id` (the ‹ › switch) and the branch below it."""
        try:
            await run.io_bound(branches.show_branch, self.user, self.conversation_id, message_id)
        except ServiceError as exc:
            self._refused(exc)
            return
        await self._reload()

    async def fork(self, message_id: int) -> None:
        """Continue in a new chat from `message_id` (a copy of the path down to it)."""
        try:
            fork = await run.io_bound(
                branches.fork_conversation, self.user, self.conversation_id, message_id
            )
        except ServiceError as exc:
            self._refused(exc)
            return
        with self.column:
            ui.navigate.to(f"/chat/{fork.id}")

    def _refused(self, exc: ServiceError) -> None:
        with self.column:
            ui.notify(str(exc), type="negative")
            if isinstance(exc, AuthError):  # revoked while the page was open
                ui.navigate.to("/login")

    def _detached(self, action: Callable[[int], Awaitable[None]]) -> Callable[[int], None]:
        """A message button's handler run apart from the button: the redraw that follows
        deletes the button, which would cancel a handler bound to it."""

        def run_apart(message_id: int) -> None:  # returns nothing for NiceGUI to await
            background_tasks.create(action(message_id), name="chat-message-action")

        return run_apart

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
        await self._show_turn(turn)

    async def _show_turn(self, turn: chat.Turn) -> None:
        """Draw the new message and its streaming reply at the end of the active branch."""
        if self.empty is not None:
            self.empty.delete()
            self.empty = None
        question = turn.question or await run.io_bound(
            conversations.get_message, self.user, turn.user_message_id
        )
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
        for earlier in reversed(self.messages[:-2]):
            if earlier.role == MessageRole.assistant:
                if earlier.id in self.slots and earlier.status == MessageStatus.incomplete:
                    self._redraw(earlier)  # drop Continue (only the last answer offers it)
                break
        with self.column:
            self._add(reply)
        if turn.assistant_message_id not in self.live:
            await self._finished(turn.assistant_message_id)  # already done
        if self.composer is not None:
            self.composer.set_busy(bool(self.live))

    async def stop(self) -> None:
        """Stop the replies streaming here (or the one a send in flight is about to start)."""
        if not self.live and self.composer is not None and self.composer.busy:
            self.stop_requested = True
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
    use_static("chat.css", "code_highlight.css", "copy_code.js", "chat_scroll.js")
    with ui.row().classes("chat-layout w-full gap-4 flex-col md:flex-row no-wrap items-stretch"):
        chat_list = conversation_sidebar(
            user, assistants, folder_list, first_page, active_id, on_renamed
        )
        right = ui.column().classes("chat-main flex-1 min-w-0 gap-3 no-wrap")
        with right:
            chat_list.drawer_button()
    return right, chat_list.retitle


def _home_data(user: User) -> tuple[list, conversations.ConversationPage, list]:
    return _assistant_options(user), conversations.list_conversations(user), list_folders(user)


@signed_in_page("/chat", "Chat")
async def chat_home(user: User) -> None:
    """The conversation list, with an invitation to start or pick a conversation."""
    assistants, first_page, folder_list = await run.io_bound(_home_data, user)
    right, _ = _chat_layout(user, assistants, None, first_page, folder_list)
    with right:
        heading("Chat").classes("sr-only")
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
        ui.link("Import conversations (ChatGPT or JSON export)", "/import").classes("text-sm")


@signed_in_page("/chat/new", "Chat")
async def chat_new(user: User, assistant: int = 0, temporary: int = 0) -> None:
    """Start a conversation (or a temporary chat) with an assistant and open it."""
    try:
        conversation = await run.io_bound(
            conversations.open_new_chat, user, assistant, bool(temporary)
        )
    except NotFound:
        not_found_view()
        return
    ui.navigate.to(f"/chat/{conversation.id}")


@signed_in_page("/chat/{conversation_id}", "Chat")
async def chat_page(user: User, conversation_id: int, continued: int = 0) -> None:
    """One conversation."""
    try:
        data, ratings = await run.io_bound(_load_page, user, conversation_id)
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
        chat_view = ChatView(user, view, preview, retitle, attach, ratings)
    if chat_view.composer is not None:
        chat_view.composer.use_prompts(await run.io_bound(prompt_library.list_prompts, user))
    if chat_view.composer is not None and chat_view.composer.attachments is not None:
        chat_view.composer.attachments.accept_drop(right)  # drop files on the conversation
