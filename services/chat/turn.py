"""One chat turn: checks, persistence, the context window, streaming and the final save.

`send` (and `regenerate`, `edit_last`) check access and budget, split a conversation at the
message cap, save the user's message, create the assistant message in status `streaming`,
and start the reply as a background task registered in `services.chat.generation`. The task
streams from the provider into the `Generation` and saves everything in one transaction at
the end: `complete`, `stopped` or `failed` (with the error category), keeping every token.

Costs that must stay counted after their message is gone (a replaced answer, the summary
made when a conversation is split) are carried into the next reply's `cost_micros` and token
counts, with the breakdown in `tool_calls["carried"]`, so per-message usage sums stay right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    MessageStatus,
    User,
    utcnow,
)
from services.assistants.manage import load_for_use
from services.chat import generation
from services.chat.conversations import (
    DEFAULT_TITLE,
    context_messages,
    owned_conversation,
    title_from,
    touch,
)
from services.chat.generation import Generation
from services.files import attachments as chat_files
from services.llm.base import (
    Citation,
    Done,
    ErrorCategory,
    GeneratedFile,
    IncompleteReason,
    LLMProvider,
    ProviderError,
    ReplyError,
    ReplyRequest,
    TextDelta,
    Thinking,
    ToolActivity,
    Usage,
    cancelled_error,
)
from services.llm.catalog import ModelInfo, load_catalog
from services.llm.factory import active_base_url, get_provider
from services.usage.pricing import (
    CHARS_PER_TOKEN,
    cost_micros,
    estimate_tokens,
    estimate_turn_micros,
)
from services.usage.spend import check_budget

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 32_000
MESSAGE_OVERHEAD_TOKENS = 4
SUMMARY_MAX_TOKENS = 400
SUMMARY_SOURCE_CHARS = 24_000
SUMMARY_INSTRUCTIONS = (
    "Summarize this conversation in at most 150 words so it can be continued: keep names, "
    "decisions, facts, open questions and the user's goal. Plain prose, no preamble."
)
SUMMARY_HEADING = "Summary of the earlier conversation:"
THINKING_LABEL = "Thinking…"
# The app's own output cap, for providers that ignore max_output_tokens: stop reading once
# the text is clearly longer than the limit (the token estimate is rough, hence the slack).
OUTPUT_CAP_SLACK = 1.5
INCOMPLETE_TEXT = {
    IncompleteReason.length: "Stopped at the length limit.",
    IncompleteReason.content_filter: "Stopped by the content filter.",
    IncompleteReason.other: "The provider ended the reply early.",
}
OUTPUT_CAP_TEXT = (
    "Stopped at the length limit: the provider kept writing past MAX_OUTPUT_TOKENS, so the "
    "app stopped reading. The cost is estimated."
)
RESTART_ERROR = (
    "The server restarted before this reply finished. The text received so far is kept; "
    "you can retry."
)


@dataclass(frozen=True)
class Turn:
    """What `send` started: where the messages went and what to tell the user."""

    conversation_id: int
    user_message_id: int
    assistant_message_id: int
    notice: str | None = None
    warning: str | None = None
    question: ConversationMessage | None = None  # the saved user message, to draw it at once
    reply: ConversationMessage | None = None  # the saved streaming reply row, likewise


@dataclass(frozen=True)
class CostPreview:
    """Estimates a turn's cost before it is sent, from the context already in place."""

    context_tokens: int
    model: ModelInfo | None
    messages_left: int

    def estimate(self, draft: str) -> int | None:
        """Micro-dollars for sending `draft` now (None: model not in the catalog)."""
        if self.model is None:
            return None
        input_tokens = self.context_tokens + estimate_tokens(draft) + MESSAGE_OVERHEAD_TOKENS
        return estimate_turn_micros(self.model, input_tokens, self.model.typical_output_tokens)


@dataclass(frozen=True)
class _Job:
    """Everything the streaming task needs; no ORM objects cross into it."""

    turn: Turn
    request: ReplyRequest
    carried: list[dict]


# ---------------------------------------------------------------- the provider


_providers: dict[tuple, LLMProvider] = {}


async def chat_provider(settings: Settings | None = None) -> LLMProvider:
    """The provider for the current settings (the demo simulator in demo mode), one SDK
    client per event loop. The first one is built in a thread: loading TLS certificates
    would block the event loop for a few hundred milliseconds."""
    settings = settings or get_settings()
    base_url = active_base_url(settings)
    key = (id(asyncio.get_running_loop()), settings.llm_api, settings.openai_api_key, base_url)
    provider = _providers.get(key)
    if provider is None:
        provider = await asyncio.to_thread(get_provider, settings, base_url)
        provider = _providers.setdefault(key, provider)
    return provider


# ---------------------------------------------------------------- public API

# Check-then-start of a turn is serialized per conversation (in this process; a browser stays
# on one container), so a double click cannot start two replies or lose a count update.
_turn_locks: dict[int, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def _one_turn_at_a_time(conversation_id: int) -> AsyncIterator[None]:
    lock = _turn_locks.setdefault(conversation_id, asyncio.Lock())
    try:
        async with lock:
            yield
    finally:
        if not lock.locked() and _turn_locks.get(conversation_id) is lock:
            del _turn_locks[conversation_id]


async def send(
    user: User, conversation_id: int, text: str, attachments: list[str] | None = None
) -> Turn:
    """Send a user message and start the reply; returns at once with the new message ids.

    At the message cap the conversation is continued in a new, linked one that carries a
    summary (one counted model call); `Turn.notice` says so.
    """
    text = text.strip()
    attachments = list(attachments or [])
    if not text and not attachments:
        raise ValidationError("Type a message first.", "message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            f"That message is too long (over {MAX_MESSAGE_CHARS:,} characters).", "message"
        )
    async with _one_turn_at_a_time(conversation_id):
        job, target_id, warning = await asyncio.to_thread(
            _check_and_begin, user, conversation_id, text, attachments
        )
        if job is None:  # the cap forces a split (rare): summarize, then save the turn there
            target_id, carried = await _split(user, target_id)
            notice = (
                "This conversation reached its message limit, so it continues here with a summary."
            )
            job = await asyncio.to_thread(
                _begin_turn, user, target_id, text, attachments, carried, notice, warning
            )
        _start(job, user)
    return job.turn


async def regenerate(user: User, conversation_id: int) -> Turn:
    """Replace the last answer (also Retry on a failed or stopped one); its cost stays counted."""
    async with _one_turn_at_a_time(conversation_id):
        job = await asyncio.to_thread(_begin_replacement, user, conversation_id, None)
        _start(job, user)
    return job.turn


async def edit_last(user: User, conversation_id: int, text: str) -> Turn:
    """Change my last message and answer it again; the old answer is replaced."""
    text = text.strip()
    if not text:
        raise ValidationError("Type a message first.", "message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError("That message is too long.", "message")
    async with _one_turn_at_a_time(conversation_id):
        job = await asyncio.to_thread(_begin_replacement, user, conversation_id, text)
        _start(job, user)
    return job.turn


def stop(user: User, message_id: int) -> bool:
    """Stop a reply being generated (the partial text is kept as `stopped`)."""
    running = generation.get(message_id)
    if running is None or running.owner_id != user.id:
        return False
    return generation.cancel(message_id)


def stop_conversation(user: User, conversation_id: int) -> None:
    """Stop every reply running in one of the user's conversations (before deleting it)."""
    for running in generation.for_conversation(conversation_id):
        if running.owner_id == user.id:
            generation.cancel(running.message_id)


def cost_preview(user: User, conversation_id: int) -> CostPreview:
    """What the next turn's context weighs, to preview its cost as the user types."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        return _cost_preview(session, conversation, _assistant_of(session, user, conversation))


def _cost_preview(
    session: Session, conversation: Conversation, assistant: Assistant
) -> CostPreview:
    history = context_messages(session, conversation.id)[1:]  # room for the new message
    tokens = estimate_tokens(_instructions(assistant, conversation)) + sum(
        estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in history
    )
    left = get_settings().max_messages_per_conversation - conversation.message_count
    return CostPreview(tokens, load_catalog(get_settings()).get(assistant.model), left)


def reply_outcome(
    user: User, message_id: int
) -> tuple[ConversationMessage, Conversation, CostPreview | None]:
    """After a reply ended, in one read: the saved message, its conversation (totals, title)
    and the next turn's cost preview (None when the assistant is gone)."""
    with session_scope() as session:
        message = session.get(ConversationMessage, message_id)
        if message is None:
            raise NotFound("Message not found")
        conversation = owned_conversation(session, user, message.conversation_id)
        try:
            assistant = _assistant_of(session, user, conversation)
        except NotFound:
            return message, conversation, None
        return message, conversation, _cost_preview(session, conversation, assistant)


def recover_stale_replies() -> int:
    """Close out replies left `streaming` by a crash or restart; returns how many.

    Call at start-up, before any reply can be running in this process.
    """
    with session_scope() as session:
        result = session.execute(
            sa.update(ConversationMessage)
            .where(ConversationMessage.status == MessageStatus.streaming)
            .values(
                status=MessageStatus.failed,
                error=RESTART_ERROR,
                error_category=ErrorCategory.stream_broken.value,
                updated_at=utcnow(),
            )
        )
        count = result.rowcount or 0
    if count:
        log.warning("Closed %d reply(ies) left streaming by a restart", count)
    return count


# ---------------------------------------------------------------- checks and persistence


def _assistant_of(session: Session, user: User, conversation: Conversation) -> Assistant:
    if conversation.assistant_id is None:
        raise NotFound("This conversation's assistant was deleted; start a new chat.")
    try:
        return load_for_use(session, user, conversation.assistant_id)
    except NotFound:
        raise NotFound("This assistant is no longer available; start a new chat.") from None


def _check_and_begin(
    user: User, conversation_id: int, text: str, attachments: list[str]
) -> tuple[_Job | None, int, str | None]:
    """The checks and, unless the cap forces a split (job None), the turn's rows: one hop to
    a worker thread per send instead of two."""
    target_id, warning, split = _check_send(user, conversation_id, text)
    if split:
        return None, target_id, warning
    return _begin_turn(user, target_id, text, attachments, [], None, warning), target_id, warning


def _check_send(user: User, conversation_id: int, text: str) -> tuple[int, str | None, bool]:
    """(target conversation, budget warning, whether the cap forces a split)."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        conversation = _latest_continuation(session, user, conversation)
        assistant = _assistant_of(session, user, conversation)
        if _has_running_reply(conversation.id):
            raise ValidationError("Wait for the current reply to finish (or stop it).", "message")
        preview = _cost_preview(session, conversation, assistant)
    status = check_budget(user, assistant, preview.estimate(text))
    split = conversation.message_count + 2 > get_settings().max_messages_per_conversation
    return conversation.id, status.warning, split


def _latest_continuation(session: Session, user: User, conversation: Conversation) -> Conversation:
    """A conversation already continued elsewhere sends new messages to its continuation."""
    for _ in range(10):
        if conversation.continued_by_id is None:
            break
        nxt = session.get(Conversation, conversation.continued_by_id)
        if nxt is None or nxt.owner_id != user.id:
            break
        conversation = nxt
    return conversation


def _has_running_reply(conversation_id: int) -> bool:
    return any(not g.finished for g in generation.for_conversation(conversation_id))


async def _split(user: User, conversation_id: int) -> tuple[int, list[dict]]:
    """Start the continuation of a full conversation, seeded with a model-made summary."""
    model, source = await asyncio.to_thread(_summary_source, user, conversation_id)
    carried: list[dict] = []
    try:
        summary, usage = await (await chat_provider()).complete_text(
            model, SUMMARY_INSTRUCTIONS, source, SUMMARY_MAX_TOKENS
        )
        catalog = load_catalog(get_settings())
        cost = cost_micros(usage, catalog.get(model), catalog.tool_prices) or 0
        carried.append(
            {
                "kind": "summary",
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_micros": cost,
            }
        )
    except ProviderError as exc:
        log.warning("Summary failed (%s); carrying the last messages instead", exc.category)
        summary = source[-1500:]
    new_id = await asyncio.to_thread(_create_continuation, user, conversation_id, summary.strip())
    return new_id, carried


def _summary_source(user: User, conversation_id: int) -> tuple[str, str]:
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        assistant = _assistant_of(session, user, conversation)
        messages = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.id)
        ).all()
        lines = [f"Earlier summary: {conversation.summary}"] if conversation.summary else []
        lines += [f"{m.role.value}: {m.content}" for m in messages if m.content]
        return assistant.model, "\n\n".join(lines)[-SUMMARY_SOURCE_CHARS:]


def _create_continuation(user: User, conversation_id: int, summary: str) -> int:
    with session_scope() as session:
        old = owned_conversation(session, user, conversation_id)
        new = Conversation(
            owner_id=user.id,
            assistant_id=old.assistant_id,
            title=_continued_title(old.title),
            parent_id=old.id,
            summary=summary,
            vector_store_id=old.vector_store_id,
        )
        session.add(new)
        session.flush()
        old.continued_by_id = new.id
        session.add(old)
        return new.id


def _continued_title(title: str) -> str:
    base = title.removesuffix(" (continued)")
    return f"{base[:180]} (continued)"


def _begin_turn(
    user: User,
    conversation_id: int,
    text: str,
    attachments: list[str],
    carried: list[dict],
    notice: str | None,
    warning: str | None,
) -> _Job:
    """Save the user's message and the streaming reply row; build the request."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        assistant = _assistant_of(session, user, conversation)
        files = chat_files.for_turn(session, user, assistant.model, attachments)
        user_message = ConversationMessage(
            conversation_id=conversation.id,
            role=MessageRole.user,
            content=text,
            attachments=[{"id": f.id, "name": f.name, "mime": f.mime} for f in files],
        )
        reply = _new_reply(conversation, assistant)
        session.add(user_message)
        session.add(reply)
        if conversation.message_count == 0 and conversation.title == DEFAULT_TITLE:
            conversation.title = title_from(text)
        conversation.message_count += 2
        touch(conversation)
        session.add(conversation)
        session.flush()
        for stored in files:
            stored.conversation_id = conversation.id
            stored.message_id = user_message.id
            session.add(stored)
        assistant.last_used_at = utcnow()  # what `mark_used` does, in this transaction
        session.add(assistant)
        turn = Turn(
            conversation.id, user_message.id, reply.id, notice, warning, user_message, reply
        )
        request = _request(session, user, assistant, conversation, reply.id)
    return _Job(turn, request, carried)


def _begin_replacement(user: User, conversation_id: int, new_text: str | None) -> _Job:
    """Drop the last answer (carrying its cost) and start a new one, maybe after an edit."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        assistant = _assistant_of(session, user, conversation)
        if _has_running_reply(conversation.id):
            raise ValidationError("Wait for the current reply to finish (or stop it).")
        last_two = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.id.desc())
            .limit(2)
        ).all()
        if len(last_two) < 2 or last_two[0].role != MessageRole.assistant:
            raise ValidationError("There is no answer to replace yet.")
        answer, question = last_two
        if question.role != MessageRole.user:
            raise ValidationError("There is no message of yours to answer again.")
        carried = _carried_from(answer)
        session.delete(answer)
        if new_text is not None:
            question.content = new_text
            question.updated_at = utcnow()
            session.add(question)
        reply = _new_reply(conversation, assistant)
        session.add(reply)
        touch(conversation)
        session.add(conversation)
        session.flush()
        turn = Turn(conversation.id, question.id, reply.id, question=question, reply=reply)
        request = _request(session, user, assistant, conversation, reply.id)
    return _Job(turn, request, carried)


def _carried_from(answer: ConversationMessage) -> list[dict]:
    if not answer.cost_micros:
        return []
    return [
        {
            "kind": "replaced answer",
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "cost_micros": answer.cost_micros,
        }
    ]


def _new_reply(conversation: Conversation, assistant: Assistant) -> ConversationMessage:
    return ConversationMessage(
        conversation_id=conversation.id,
        role=MessageRole.assistant,
        status=MessageStatus.streaming,
        model=assistant.model,
    )


def _instructions(assistant: Assistant, conversation: Conversation) -> str:
    if not conversation.summary:
        return assistant.instructions
    return f"{assistant.instructions}\n\n{SUMMARY_HEADING}\n{conversation.summary}".strip()


def _request(
    session: Session,
    user: User,
    assistant: Assistant,
    conversation: Conversation,
    reply_id: int,
) -> ReplyRequest:
    """Instructions + carried summary + the last CONTEXT_MESSAGES messages, nothing else."""
    messages = []
    vision = chat_files.model_sees_images(assistant.model)
    for message in context_messages(session, conversation.id, exclude_id=reply_id):
        messages.append(chat_files.context_message(session, user, message, vision))
    vector_stores = [v for v in (assistant.vector_store_id, conversation.vector_store_id) if v]
    settings = get_settings()
    # Only what the model accepts is sent: gpt-5* and o-series refuse temperature/top_p.
    traits = load_catalog(settings).traits(assistant.model)
    effort = assistant.reasoning_effort
    max_output = settings.max_output_tokens
    if traits.max_output_tokens:
        max_output = min(max_output, traits.max_output_tokens)
    return ReplyRequest(
        model=assistant.model,
        instructions=_instructions(assistant, conversation),
        messages=messages,
        tools=chat_files.turn_tools(list(assistant.tools or []), conversation),
        vector_store_ids=vector_stores,
        temperature=assistant.temperature if traits.temperature else None,
        top_p=assistant.top_p if traits.top_p else None,
        max_output_tokens=max_output,
        reasoning_effort=effort if effort in traits.reasoning_efforts else None,
        reasoning_summary=traits.reasoning_summary,
        store=settings.openai_store,
    )


# ---------------------------------------------------------------- streaming


def _start(job: _Job, user: User) -> None:
    running = Generation(job.turn.assistant_message_id, job.turn.conversation_id, user.id)
    generation.start(running, lambda g: _stream(job, g))
    _ensure_checkpoints()


# Partial text is saved every few seconds, all streaming replies in one transaction, so a
# crash keeps what had streamed when start-up recovery closes the row.
CHECKPOINT_SECONDS = 3.0
_checkpoints: asyncio.Task | None = None


def _ensure_checkpoints() -> None:
    global _checkpoints
    loop = asyncio.get_running_loop()
    if _checkpoints is None or _checkpoints.done() or _checkpoints.get_loop() is not loop:
        _checkpoints = loop.create_task(_checkpoint_loop(), name="reply-checkpoints")


async def _checkpoint_loop() -> None:
    saved: dict[int, int] = {}  # message id -> length of the text saved
    while generation.running_count():
        await asyncio.sleep(CHECKPOINT_SECONDS)
        texts = {
            g.message_id: g.text
            for g in generation.running()
            if not g.finished and len(g.text) != saved.get(g.message_id, 0)
        }
        if texts:
            try:
                await asyncio.to_thread(_save_partial, texts)
            except Exception:  # a missed checkpoint only weakens crash recovery
                log.exception("Saving partial replies failed")
                continue
            saved = {k: v for k, v in saved.items() if generation.get(k) is not None}
            saved.update((k, len(v)) for k, v in texts.items())


def _save_partial(texts: dict[int, str]) -> None:
    """Store the text so far of replies still `streaming` (a finished one is left alone)."""
    with session_scope() as session:
        session.connection().execute(
            sa.update(ConversationMessage.__table__)
            .where(ConversationMessage.__table__.c.id == sa.bindparam("message_id"))
            .where(ConversationMessage.__table__.c.status == MessageStatus.streaming.name)
            .values(content=sa.bindparam("text")),
            [{"message_id": k, "text": v} for k, v in texts.items()],
        )


async def _stream(job: _Job, running: Generation) -> None:
    """Stream the reply into `running`, then save the outcome in one transaction."""
    settings = get_settings()
    outcome = _Outcome(job.request.max_output_tokens)
    try:
        provider = await chat_provider()
        # One deadline for the whole reply; the HTTP read timeout only bounds silences.
        async with (
            asyncio.timeout(settings.llm_reply_deadline_seconds),
            contextlib.aclosing(provider.stream_reply(job.request)) as events,
        ):
            async for event in events:
                if not outcome.take(event, running):
                    break  # the app's own output cap: the stream is closed, what came is kept
    except TimeoutError:
        outcome.error = ReplyError(
            ErrorCategory.timeout,
            f"The reply took longer than {settings.llm_reply_deadline_seconds:g} s "
            "(LLM_REPLY_DEADLINE_SECONDS) and was stopped. The text received so far is kept; "
            "the cost is estimated.",
        )
    except asyncio.CancelledError:
        outcome.error = cancelled_error()
    except Exception:  # a bug must not leave the row streaming
        log.exception("Reply %s failed unexpectedly", running.message_id)
        outcome.error = ReplyError(ErrorCategory.stream_broken, "The reply failed unexpectedly.")
    if outcome.generated and outcome.error is None:
        await _keep_generated(job, running, outcome)
    await asyncio.to_thread(_finish, job, running.text, outcome)


async def _keep_generated(job: _Job, running: Generation, outcome: _Outcome) -> None:
    """Fetch and keep the files the reply produced before saving it (a Stop skips them)."""
    running.set_activity("Saving generated files")
    try:
        outcome.generated, outcome.citations = await chat_files.keep_generated_files(
            running.owner_id,
            job.turn.conversation_id,
            job.turn.assistant_message_id,
            outcome.generated,
            outcome.citations,
        )
    except asyncio.CancelledError:
        log.info("Reply %s stopped while saving its generated files", running.message_id)
    except Exception:  # the answer itself must still be saved
        log.exception("Reply %s: generated files not kept", running.message_id)


class _Outcome:
    """What the stream produced besides text."""

    def __init__(self, max_output_tokens: int | None = None) -> None:
        self.usage: Usage | None = None
        self.done: Done | None = None
        self.error: ReplyError | None = None
        self.citations: list[dict] = []
        self.generated: list[dict] = []
        self.tools: list[dict] = []
        self.summary: list[str] = []
        self.thinking_since: float | None = None
        self.thinking_seconds = 0.0
        self.capped = False
        self.chars = 0
        self.max_chars = (
            int(max_output_tokens * CHARS_PER_TOKEN * OUTPUT_CAP_SLACK)
            if max_output_tokens
            else None
        )

    def take(self, event: object, running: Generation) -> bool:
        """Apply one event; False when the reply passed the output cap (stop reading)."""
        match event:
            case TextDelta(text=text):
                self._thought()
                running.append(text)
                self.chars += len(text)
                if self.max_chars is not None and self.chars > self.max_chars:
                    self.capped = True
                    return False
            case Thinking(summary=summary):
                if self.thinking_since is None:
                    self.thinking_since = time.monotonic()
                    running.set_activity(THINKING_LABEL)
                if summary:
                    self.summary.append(summary)
            case ToolActivity():
                running.set_activity(None if event.status != "in_progress" else event.label)
                self.tools.append({"tool": event.tool, "status": event.status})
            case Citation():
                self.citations.append(asdict(event))
            case GeneratedFile():
                self.generated.append(asdict(event))
            case Usage():
                self.usage = event
            case Done():
                self.done = event
            case ReplyError():
                self.error = event
        return True

    def _thought(self) -> None:
        """The answer starts: thinking time ends here."""
        if self.thinking_since is not None:
            self.thinking_seconds += time.monotonic() - self.thinking_since
            self.thinking_since = None

    def status(self) -> tuple[MessageStatus, str | None, str | None]:
        """The saved status, the sentence shown with it, and the error category."""
        if self.capped:
            return MessageStatus.incomplete, OUTPUT_CAP_TEXT, IncompleteReason.length.value
        done = self.done
        if done is not None and self.error is None:
            if done.incomplete is not None:
                return MessageStatus.incomplete, INCOMPLETE_TEXT[done.incomplete], done.incomplete
            if done.refused:
                return MessageStatus.refused, "The model declined to answer this.", None
            return MessageStatus.complete, None, None
        error = self.error or ReplyError(
            ErrorCategory.stream_broken, "The reply ended unexpectedly."
        )
        if error.category == ErrorCategory.cancelled:
            return MessageStatus.stopped, error.message, error.category
        return MessageStatus.failed, error.message, error.category


def _finish(job: _Job, text: str, outcome: _Outcome) -> None:
    """Save content, status, tokens, cost and provider ids; add them to the conversation."""
    settings = get_settings()
    catalog = load_catalog(settings)
    request = job.request
    outcome._thought()
    answered = (outcome.done.model if outcome.done else None) or request.model
    billed_model = catalog.alias(answered)  # gpt-5-mini-2025-08-07 counts as gpt-5-mini
    model_info = catalog.get(billed_model) or catalog.resolve(request.model)
    usage = outcome.usage
    estimated = False
    timed_out = outcome.error is not None and outcome.error.category == ErrorCategory.timeout
    if usage is not None:
        own_cost = cost_micros(usage, model_info, catalog.tool_prices)
        input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
    elif text or timed_out:  # stopped, cut or timed out: the provider bills what it produced
        estimated = True
        input_tokens = estimate_tokens(request.instructions) + sum(
            estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in request.messages
        )
        output_tokens = estimate_tokens(text)
        own_cost = estimate_turn_micros(model_info, input_tokens, output_tokens)
    else:
        input_tokens = output_tokens = 0
        own_cost = 0 if outcome.error is not None else None
    carried_cost = sum(item["cost_micros"] for item in job.carried)
    total_cost = None if own_cost is None and not carried_cost else (own_cost or 0) + carried_cost
    tool_calls: dict = {}
    if usage is not None:
        tool_calls.update(
            web_search=usage.web_search_calls,
            file_search=usage.file_search_calls,
            code_interpreter=usage.code_interpreter_sessions,
        )
    if outcome.generated:
        tool_calls["generated_files"] = outcome.generated
    if job.carried:
        tool_calls["carried"] = job.carried
    if estimated:
        tool_calls["estimated"] = True
    if outcome.thinking_seconds:
        tool_calls["thinking_seconds"] = round(outcome.thinking_seconds, 1)
    if answered != billed_model:
        tool_calls["model_snapshot"] = answered

    status, error, category = outcome.status()
    with session_scope() as session:
        message = session.get(ConversationMessage, job.turn.assistant_message_id)
        if message is None:  # the conversation was deleted meanwhile
            return
        message.content = text
        message.status = status
        message.error = error
        message.error_category = category
        message.citations = outcome.citations
        # Like its cost, a reply's tokens include what it carries (a replaced answer, a
        # split's summary), so per-message sums always match the conversation's totals.
        message.input_tokens = input_tokens + sum(c["input_tokens"] for c in job.carried)
        message.output_tokens = output_tokens + sum(c["output_tokens"] for c in job.carried)
        message.cached_tokens = usage.cached_tokens if usage else 0
        message.reasoning_tokens = usage.reasoning_tokens if usage else 0
        message.cache_write_tokens = usage.cache_write_tokens if usage else 0
        message.reasoning_summary = "".join(outcome.summary)
        message.tool_calls = tool_calls
        message.cost_micros = total_cost
        message.model = billed_model
        message.provider_response_id = outcome.done.response_id if outcome.done else None
        message.updated_at = utcnow()
        session.add(message)
        conversation = session.get(Conversation, message.conversation_id)
        if conversation is not None:
            # A replaced answer is already in the totals; a split's summary is not yet.
            summary = [c for c in job.carried if c["kind"] == "summary"]
            conversation.input_tokens += input_tokens + sum(c["input_tokens"] for c in summary)
            conversation.output_tokens += output_tokens + sum(c["output_tokens"] for c in summary)
            conversation.cost_micros += (own_cost or 0) + sum(c["cost_micros"] for c in summary)
            touch(conversation)
            session.add(conversation)
