"""One chat turn: checks, persistence, the context window, streaming and the final save.

`send` (and `regenerate`, `edit`) check access and budget, split a conversation at the
message cap, save the user's message, create the assistant message in status `streaming`,
and start the reply as a background task registered in `services.chat.generation`. The task
streams from the provider into the `Generation` and saves everything in one transaction at
the end: `complete`, `stopped` or `failed` (with the error category), keeping every token.

Messages form a tree (`services.chat.tree`): a new message follows the active branch's leaf,
and Regenerate and Edit add a sibling (the earlier answer or question stays, with its cost),
then make the new reply the active leaf. The summary made when a conversation is split is
carried into the next reply's `cost_micros` and token counts, with the breakdown in
`tool_calls["carried"]`, so per-message usage sums stay right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass, replace

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import NotFound, Unavailable, ValidationError
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    MessageRole,
    MessageStatus,
    SpendKind,
    StoredFile,
    User,
    utcnow,
)
from services.assistants.manage import load_for_use, note_use
from services.chat import generation, titles, tree
from services.chat.conversations import (
    DEFAULT_TITLE,
    context_messages,
    owned_conversation,
    title_from,
    touch,
)
from services.chat.generation import Generation
from services.chat.interruptions import interrupted_error
from services.chat.turn_lock import one_turn_at_a_time
from services.files import attachments as chat_files
from services.llm.base import (
    Citation,
    ContextMessage,
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
from services.llm.catalog import ModelInfo, ToolPrices, load_catalog
from services.llm.factory import active_base_url, get_provider
from services.runtime import liveness
from services.usage import budgets, reservations
from services.usage.ledger import Call, Party, entries_for, total_micros
from services.usage.pricing import (
    CHARS_PER_TOKEN,
    estimate_tokens,
    estimate_turn_micros,
    image_tokens,
    worst_case_micros,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 32_000
MESSAGE_OVERHEAD_TOKENS = 4
DOCUMENT_BYTES_PER_TOKEN = 8  # a rough figure for PDFs sent as input files
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
class CostEstimate:
    """A turn's likely cost: `low` at no output, `typical` at the model's usual answer
    length, `high` at the full output cap with every enabled tool used (what is reserved)."""

    low: int
    typical: int
    high: int


@dataclass(frozen=True)
class CostPreview:
    """Estimates a turn's cost before it is sent, from the context already in place.

    Counts the instructions, carried summary and history (images by size and detail per the
    provider's formula, sent documents by size), the enabled tools' fees and, when the next
    send will split the conversation, the summary call."""

    context_tokens: int
    model: ModelInfo | None
    messages_left: int
    tools: tuple[str, ...] = ()
    tool_prices: ToolPrices | None = None
    max_output_tokens: int = 0
    summary_micros: int | None = None

    def estimate(self, draft: str, image_tokens_extra: int = 0) -> int | None:
        """Typical micro-dollars for sending `draft` now (None: model not in the catalog)."""
        found = self.range(draft, image_tokens_extra)
        return None if found is None else found.typical

    def range(self, draft: str, image_tokens_extra: int = 0) -> CostEstimate | None:
        """Low, typical and high cost of sending `draft` now (None: model unknown)."""
        if self.model is None:
            return None
        input_tokens = (
            self.context_tokens
            + estimate_tokens(draft)
            + MESSAGE_OVERHEAD_TOKENS
            + image_tokens_extra
        )
        fixed = self.summary_micros or 0
        low = estimate_turn_micros(self.model, input_tokens, 0) or 0
        typical = estimate_turn_micros(self.model, input_tokens, self.model.typical_output_tokens)
        high = 0
        if self.tool_prices is not None:
            high = (
                worst_case_micros(
                    self.model,
                    input_tokens,
                    max(self.max_output_tokens, self.model.typical_output_tokens),
                    self.tools,
                    self.tool_prices,
                )
                or 0
            )
        return CostEstimate(low + fixed, (typical or 0) + fixed, max(high, typical or 0) + fixed)


@dataclass(frozen=True)
class _Job:
    """Everything the streaming task needs; no ORM objects cross into it."""

    turn: Turn
    request: ReplyRequest
    carried: list[dict]
    reservation_id: int | None = None
    kind: SpendKind = SpendKind.reply
    party: Party | None = None
    alias: str = ""
    first_exchange: bool = False  # a model names the conversation once this reply is saved


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


def _check_text(text: str, attachments: list[str]) -> str:
    text = text.strip()
    if not text and not attachments:
        raise ValidationError("Type a message first.", "message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            f"That message is too long (over {MAX_MESSAGE_CHARS:,} characters).", "message"
        )
    return text


async def send(
    user: User,
    conversation_id: int,
    text: str,
    attachments: list[str] | None = None,
    model: str | None = None,
) -> Turn:
    """Send a user message and start the reply; returns at once with the new message ids.

    One transaction checks access, the limits, the budgets (reserving the reply's worst
    case) and the message cap, and saves both rows. `model` (a catalog id) answers this one
    message with another model, e.g. the cheaper one a refusal suggested. At the message cap
    the conversation is continued in a new, linked one that carries a summary (one billed
    model call); `Turn.notice` says so.
    """
    attachments = list(attachments or [])
    text = _check_text(text, attachments)
    async with one_turn_at_a_time(conversation_id):
        begun = await asyncio.to_thread(
            _begin_send, user, conversation_id, text, attachments, model
        )
        if isinstance(begun, _SplitNeeded):  # the cap forces a split (rare)
            job = await _split(user, begun, text, attachments, model)
        else:
            job = begun
        _start(job, user)
    return job.turn


async def regenerate(user: User, conversation_id: int, message_id: int | None = None) -> Turn:
    """Answer again the question of answer `message_id` (None: the last answer on the active
    branch); also Retry on a failed or stopped one. The earlier answer stays as a sibling,
    its cost counted, and the new one becomes the active branch."""
    async with one_turn_at_a_time(conversation_id):
        job = await asyncio.to_thread(_begin_replacement, user, conversation_id, message_id, None)
        _start(job, user)
    return job.turn


async def edit(user: User, conversation_id: int, text: str, message_id: int | None = None) -> Turn:
    """Edit my message `message_id` (None: my last one on the active branch): the new text
    starts a new branch from the same point and is answered; the old branch stays."""
    text = text.strip()
    if not text:
        raise ValidationError("Type a message first.", "message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError("That message is too long.", "message")
    async with one_turn_at_a_time(conversation_id):
        job = await asyncio.to_thread(_begin_replacement, user, conversation_id, message_id, text)
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
        return preview_in(session, conversation, usable_assistant(session, user, conversation))


def preview_in(session: Session, conversation: Conversation, assistant: Assistant) -> CostPreview:
    """The cost preview of the next turn, in the caller's session."""
    settings = get_settings()
    catalog = load_catalog(settings)
    history = context_messages(session, conversation.id)[1:]  # room for the new message
    tokens = estimate_tokens(_instructions(assistant, conversation)) + sum(
        estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in history
    )
    tokens += _attachment_tokens(session, history, assistant.model)
    left = settings.max_messages_per_conversation - conversation.message_count
    summary = None
    if conversation.message_count + 2 > settings.max_messages_per_conversation:
        summary = estimate_turn_micros(
            catalog.get(assistant.model),
            _summary_input_tokens(session, conversation),
            SUMMARY_MAX_TOKENS,
        )
    return CostPreview(
        tokens,
        catalog.get(assistant.model),
        left,
        tools=tuple(chat_files.turn_tools(list(assistant.tools or []), conversation)),
        tool_prices=catalog.tool_prices,
        max_output_tokens=settings.max_output_tokens,
        summary_micros=summary,
    )


@dataclass(frozen=True)
class CheaperModel:
    """A catalog model with the assistant's abilities whose worst case fits the budgets."""

    id: str
    label: str
    worst_micros: int


def cheaper_model(user: User, conversation_id: int, text: str) -> CheaperModel | None:
    """When a budget refuses this message, the cheapest catalog model that would fit, with
    the same abilities as the assistant's model (vision, and every tool the assistant uses).
    None when no model fits. One click then sends with `send(..., model=found.id)`."""
    settings = get_settings()
    catalog = load_catalog(settings)
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        assistant = usable_assistant(session, user, conversation)
        current = catalog.get(assistant.model)
        preview = preview_in(session, conversation, assistant)
        input_tokens = preview.context_tokens + estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS
        needs_vision = current.vision if current else False
        tools = set(preview.tools)
        fresh = session.get(User, user.id) or user
        applying = budgets.applicable(session, fresh, assistant)
        used = {
            b: budgets.spent_micros(session, b) + budgets.reserved_micros(session, b)
            for b in applying
        }
        options = []
        for model in catalog.models:
            if model.id == assistant.model or (needs_vision and not model.vision):
                continue
            if not tools <= model.tools:
                continue
            worst = worst_case_micros(
                model,
                input_tokens,
                settings.max_output_tokens,
                preview.tools,
                catalog.tool_prices,
            )
            if worst is not None and all(
                budgets.refusal(b, used[b], worst) is None for b in applying
            ):
                options.append(CheaperModel(model.id, model.label, worst))
    return min(options, key=lambda m: m.worst_micros, default=None)


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
            assistant = usable_assistant(session, user, conversation)
        except NotFound:
            return message, conversation, None
        return message, conversation, preview_in(session, conversation, assistant)


# ---------------------------------------------------------------- checks and persistence


def usable_assistant(session: Session, user: User, conversation: Conversation) -> Assistant:
    """The conversation's assistant if the user may still use it, else NotFound saying why."""
    if conversation.assistant_id is None:
        raise NotFound("This conversation's assistant was deleted; start a new chat.")
    try:
        return load_for_use(session, user, conversation.assistant_id)
    except NotFound:
        raise NotFound("This assistant is no longer available; start a new chat.") from None


@dataclass(frozen=True)
class _SplitNeeded:
    """The cap forces a split: summarize `conversation_id` first (its reservation held)."""

    conversation_id: int
    model: str
    source: str
    reservation_id: int
    party: Party
    warning: str | None


def _begin_send(
    user: User, conversation_id: int, text: str, attachments: list[str], model: str | None
) -> _Job | _SplitNeeded:
    """The whole start of a send in one transaction: access, limits, budget, cap, rows."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        conversation = _latest_continuation(session, user, conversation)
        assistant = usable_assistant(session, user, conversation)
        _lock_budgets(session, user, assistant)
        _check_can_start(session, conversation.id)
        if conversation.message_count + 2 > get_settings().max_messages_per_conversation:
            return _reserve_summary(session, user, assistant, conversation)
        return _begin_turn(session, user, assistant, conversation, text, attachments, model)


def _lock_budgets(session: Session, user: User, assistant: Assistant) -> None:
    """Lock the budget rows before the turn's first write (see `reservations.lock_budgets`)."""
    reservations.lock_budgets(session, user.id, reservations.budgeted_id(assistant))


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


def _check_can_start(session: Session, conversation_id: int) -> None:
    """Refuse a new reply while this instance shuts down, or while one is being written in
    the conversation, here or on another instance (its row is `streaming`)."""
    liveness.check_accepting()
    running_here = any(not g.finished for g in generation.for_conversation(conversation_id))
    if (
        running_here
        or session.exec(
            select(ConversationMessage.id)
            .where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.status == MessageStatus.streaming,
            )
            .limit(1)
        ).first()
    ):
        raise ValidationError("Wait for the current reply to finish (or stop it).", "message")


def _summary_input_tokens(session: Session, conversation: Conversation) -> int:
    return estimate_tokens(SUMMARY_INSTRUCTIONS) + estimate_tokens(
        _summary_text(session, conversation)
    )


def _summary_text(session: Session, conversation: Conversation) -> str:
    messages = tree.active_path(session, conversation)
    lines = [f"Earlier summary: {conversation.summary}"] if conversation.summary else []
    lines += [f"{m.role.value}: {m.content}" for m in messages if m.content]
    return "\n\n".join(lines)[-SUMMARY_SOURCE_CHARS:]


def _reserve_summary(
    session: Session, user: User, assistant: Assistant, conversation: Conversation
) -> _SplitNeeded:
    source = _summary_text(session, conversation)
    catalog = load_catalog(get_settings())
    worst = worst_case_micros(
        catalog.get(assistant.model),
        estimate_tokens(SUMMARY_INSTRUCTIONS) + estimate_tokens(source),
        SUMMARY_MAX_TOKENS,
        (),
        catalog.tool_prices,
    )
    hold = reservations.reserve(
        session, user, assistant, conversation, worst, SpendKind.summary, assistant.model
    )
    return _SplitNeeded(
        conversation.id,
        assistant.model,
        source,
        hold.id,
        Party.of(user, assistant, conversation),
        None,
    )


async def _split(
    user: User, split: _SplitNeeded, text: str, attachments: list[str], model: str | None
) -> _Job:
    """Summarize the full conversation (its own billed call), then start the turn in a new,
    linked conversation: settling the summary, creating the continuation and the turn's rows
    in one transaction."""
    usage: Usage | None = None
    try:
        summary, usage = await (await chat_provider()).complete_text(
            split.model, SUMMARY_INSTRUCTIONS, split.source, SUMMARY_MAX_TOKENS
        )
    except ProviderError as exc:
        log.warning("Summary failed (%s); carrying the last messages instead", exc.category)
        summary = split.source[-1500:]
        usage = exc.usage  # a summary cut off by reasoning was billed all the same
    except BaseException:
        await asyncio.to_thread(_release, split.reservation_id)
        raise
    return await asyncio.to_thread(
        _continue_with_turn, user, split, summary.strip(), usage, text, attachments, model
    )


def _release(reservation_id: int) -> None:
    with session_scope() as session:
        reservations.release(session, reservation_id)


def _continue_with_turn(
    user: User,
    split: _SplitNeeded,
    summary: str,
    usage: Usage | None,
    text: str,
    attachments: list[str],
    model: str | None,
) -> _Job:
    catalog = load_catalog(get_settings())
    with session_scope() as session:
        reservations.lock_budgets(session, user.id, split.party.assistant_id)
        carried: list[dict] = []
        rows: list = []
        if usage is not None:
            call = Call.from_usage(SpendKind.summary, split.model, None, usage)
            rows = entries_for(split.party, call, catalog.get(split.model), catalog.tool_prices)
            carried.append(
                {
                    "kind": "summary",
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cost_micros": total_micros(rows),
                }
            )
        reservations.settle(session, split.reservation_id, rows)
        old = owned_conversation(session, user, split.conversation_id)
        new = Conversation(
            owner_id=user.id,
            assistant_id=old.assistant_id,
            title=_continued_title(old.title),
            parent_id=old.id,
            summary=summary,
            vector_store_id=old.vector_store_id,
            cost_cap_micros=old.cost_cap_micros,
        )
        session.add(new)
        session.flush()
        old.continued_by_id = new.id
        session.add(old)
        assistant = usable_assistant(session, user, new)
        notice = "This conversation reached its message limit, so it continues here with a summary."
        return _begin_turn(session, user, assistant, new, text, attachments, model, carried, notice)


def _continued_title(title: str) -> str:
    base = title.removesuffix(" (continued)")
    return f"{base[:180]} (continued)"


def _answering_model(assistant: Assistant, model: str | None) -> str:
    """The assistant's model, or a catalog model chosen for this one message."""
    if model is None or model == assistant.model:
        return assistant.model
    if load_catalog(get_settings()).get(model) is None:
        raise ValidationError("Choose a model from the catalog.", "model")
    return model


def _begin_turn(
    session: Session,
    user: User,
    assistant: Assistant,
    conversation: Conversation,
    text: str,
    attachments: list[str],
    model: str | None = None,
    carried: list[dict] | None = None,
    notice: str | None = None,
) -> _Job:
    """Save the user's message and the streaming reply row, build the request and reserve
    its worst case: any refusal rolls the whole transaction back."""
    answering = _answering_model(assistant, model)
    files = chat_files.for_turn(session, user, answering, attachments)
    user_message = ConversationMessage(
        conversation_id=conversation.id,
        parent_id=tree.leaf_id(session, conversation),
        role=MessageRole.user,
        content=text,
        attachments=[{"id": f.id, "name": f.name, "mime": f.mime} for f in files],
    )
    session.add(user_message)
    session.flush()
    reply = _new_reply(conversation, assistant, user_message)
    reply.model = answering
    session.add(reply)
    session.flush()
    conversation.active_message_id = reply.id
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
    session.flush()
    note_use(session, assistant, utcnow())
    history = context_messages(session, conversation.id, exclude_id=reply.id)
    request = _request(session, user, assistant, conversation, history)
    if answering != request.model:
        request = replace(request, model=answering)
    hold, warning = _reserve_reply(
        session, user, assistant, conversation, request, history, reply.id, SpendKind.reply
    )
    turn = Turn(conversation.id, user_message.id, reply.id, notice, warning, user_message, reply)
    return _Job(
        turn,
        request,
        carried or [],
        hold,
        SpendKind.reply,
        Party.of(user, assistant, conversation),
        assistant.model,
        first_exchange=conversation.message_count == 2,
    )


def _reserve_reply(
    session: Session,
    user: User,
    assistant: Assistant,
    conversation: Conversation,
    request: ReplyRequest,
    history: list[ConversationMessage],
    reply_id: int,
    kind: SpendKind,
) -> tuple[int, str | None]:
    """Hold the reply's worst case against every budget; (reservation id, 80% warning)."""
    catalog = load_catalog(get_settings())
    model_info = catalog.get(request.model)
    worst = worst_case_micros(
        model_info,
        _request_input_tokens(session, request, history),
        request.max_output_tokens,
        request.tools,
        catalog.tool_prices,
    )
    hold = reservations.reserve(
        session, user, assistant, conversation, worst, kind, request.model, message_id=reply_id
    )
    return hold.id, hold.warning


def _request_input_tokens(
    session: Session, request: ReplyRequest, history: list[ConversationMessage]
) -> int:
    """The request's input, estimated: text, per-message overhead, and the images and
    documents of `history` (the messages the request was built from)."""
    tokens = estimate_tokens(request.instructions) + sum(
        estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in request.messages
    )
    return tokens + _attachment_tokens(session, history, request.model)


def _attachment_tokens(session: Session, messages: list[ConversationMessage], model: str) -> int:
    """Images by size (the provider's tile formula) and sent documents by size."""
    vision = chat_files.model_sees_images(model)
    tokens = 0
    for message in messages:
        for item in message.attachments or []:
            row = session.get(StoredFile, item.get("id"))
            if row is None:
                continue
            if row.mime.startswith("image/"):
                tokens += image_tokens(row.width, row.height) if vision else 0
            elif row.provider_file_id:
                tokens += (row.size or 0) // DOCUMENT_BYTES_PER_TOKEN
    return tokens


def _begin_replacement(
    user: User, conversation_id: int, message_id: int | None, new_text: str | None
) -> _Job:
    """Add a sibling: a new answer to the question of answer `message_id`, or (`new_text`)
    an edited copy of question `message_id` and its answer. Nothing is deleted, so every
    earlier answer's spend stays counted. One transaction, the new answer's worst case held."""
    with session_scope() as session:
        conversation = owned_conversation(session, user, conversation_id)
        assistant = usable_assistant(session, user, conversation)
        _lock_budgets(session, user, assistant)
        _check_can_start(session, conversation.id)
        messages = tree.linked_messages(session, conversation)
        path = tree.path_to(messages, conversation.active_message_id)
        if new_text is not None:
            kind = SpendKind.edit
            original = tree.question_to_edit(messages, path, message_id)
            added = 2
        else:
            question, answer = tree.answer_to_regenerate(messages, path, message_id)
            kind = (
                SpendKind.regenerate
                if answer.status == MessageStatus.complete
                else (SpendKind.retry)
            )
            added = 1
        if conversation.message_count + added > get_settings().max_messages_per_conversation:
            raise ValidationError(
                "This conversation has reached its message limit: use “Continue in a new "
                "chat from here” to go on from this point."
            )
        if new_text is not None:
            question = ConversationMessage(
                conversation_id=conversation.id,
                parent_id=original.parent_id,
                role=MessageRole.user,
                content=new_text,
                attachments=list(original.attachments or []),
            )
            session.add(question)
            session.flush()
        reply = _new_reply(conversation, assistant, question)
        session.add(reply)
        session.flush()
        conversation.active_message_id = reply.id
        conversation.message_count += added
        touch(conversation)
        session.add(conversation)
        session.flush()
        history = context_messages(session, conversation.id, exclude_id=reply.id)
        request = _request(session, user, assistant, conversation, history)
        hold, warning = _reserve_reply(
            session, user, assistant, conversation, request, history, reply.id, kind
        )
        turn = Turn(
            conversation.id, question.id, reply.id, None, warning, question=question, reply=reply
        )
    return _Job(
        turn, request, [], hold, kind, Party.of(user, assistant, conversation), assistant.model
    )


def _new_reply(
    conversation: Conversation, assistant: Assistant, question: ConversationMessage
) -> ConversationMessage:
    return ConversationMessage(
        conversation_id=conversation.id,
        parent_id=question.id,
        role=MessageRole.assistant,
        status=MessageStatus.streaming,
        model=assistant.model,
        instance_id=liveness.INSTANCE_ID,  # whose heartbeat keeps this reply alive
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
    history: list[ConversationMessage],
) -> ReplyRequest:
    """Instructions + carried summary + `history` (the last CONTEXT_MESSAGES messages of the
    active branch, `context_messages`), nothing else."""
    messages = []
    vision = chat_files.model_sees_images(assistant.model)
    for message in history:
        messages.append(chat_files.context_message(session, user, message, vision))
    vector_stores = [v for v in (assistant.vector_store_id, conversation.vector_store_id) if v]
    return assistant_request(
        assistant,
        _instructions(assistant, conversation),
        messages,
        chat_files.turn_tools(list(assistant.tools or []), conversation),
        vector_stores,
    )


def assistant_request(
    assistant: Assistant,
    instructions: str,
    messages: list[ContextMessage],
    tools: list[str],
    vector_store_ids: list[str],
) -> ReplyRequest:
    """The request for one reply by `assistant`: its model and sampling settings (only what
    the model accepts), the output cap, and the given instructions, messages and tools."""
    settings = get_settings()
    # Only what the model accepts is sent: gpt-5* and o-series refuse temperature/top_p.
    traits = load_catalog(settings).traits(assistant.model)
    effort = assistant.reasoning_effort
    max_output = settings.max_output_tokens
    if traits.max_output_tokens:
        max_output = min(max_output, traits.max_output_tokens)
    return ReplyRequest(
        model=assistant.model,
        instructions=instructions,
        messages=messages,
        tools=tools,
        vector_store_ids=vector_store_ids,
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
    generation.start(running, lambda g: _stream_then_title(job, g, user))
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


async def _stream_then_title(job: _Job, running: Generation, user: User) -> None:
    """The reply, then (after a first exchange) its model-written conversation title, before
    the page is told the reply ended, so it shows both at once."""
    await _stream(job, running)
    if job.first_exchange:
        running.set_activity("Naming the chat")
        provider = await chat_provider()
        await titles.name_after_first_exchange(user, job.turn.conversation_id, provider)


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
        outcome.error = interrupted_error() if running.interrupted else cancelled_error()
    except Exception:  # a bug must not leave the row streaming
        log.exception("Reply %s failed unexpectedly", running.message_id)
        outcome.error = ReplyError(ErrorCategory.stream_broken, "The reply failed unexpectedly.")
    if outcome.generated and outcome.error is None:
        await _keep_generated(job, running, outcome)
    await _final_save(job, running, outcome)


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


# The final save outlives a database outage: it is retried with growing pauses (the text stays
# in memory, the page shows why it waits) for up to about FINAL_SAVE_PATIENCE seconds.
FINAL_SAVE_PATIENCE = 300.0
FINAL_SAVE_FIRST_PAUSE = 0.5
FINAL_SAVE_MAX_PAUSE = 10.0
SAVE_WAIT_ACTIVITY = "The database is unreachable; the reply is kept and saved once it is back"


async def _final_save(job: _Job, running: Generation, outcome: _Outcome) -> None:
    """Save the outcome; across a database outage, retry until it is back (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FINAL_SAVE_PATIENCE
    pause = FINAL_SAVE_FIRST_PAUSE
    while True:
        try:
            await asyncio.to_thread(_finish, job, running.text, outcome)
        except Unavailable:
            if loop.time() + pause > deadline:
                log.error("Reply %s could not be saved: database unreachable", running.message_id)
                raise
            running.set_activity(SAVE_WAIT_ACTIVITY)
            log.warning(
                "Reply %s: database unreachable, saving again in %.1f s", running.message_id, pause
            )
            await asyncio.shield(asyncio.sleep(pause))
            pause = min(pause * 2, FINAL_SAVE_MAX_PAUSE)
            continue
        if pause != FINAL_SAVE_FIRST_PAUSE:
            running.set_activity(None)
            log.info("Reply %s saved after the database came back", running.message_id)
        return


def _own_usage(job: _Job, text: str, outcome: _Outcome, alias: str) -> tuple[Call | None, bool]:
    """What this reply's call used as billed (None: nothing reached the provider's meter).

    `alias` is the catalog model the answering snapshot counts as (gpt-5-mini-2025-08-07 is
    gpt-5-mini), so one model stays one row in prices and charts.
    """
    request = job.request
    usage = outcome.usage
    billed = outcome.done.model if outcome.done else None
    if usage is not None:
        return Call.from_usage(
            job.kind, alias, billed, usage, message_id=job.turn.assistant_message_id
        ), False
    timed_out = outcome.error is not None and outcome.error.category == ErrorCategory.timeout
    # Stopped, cut or timed out: the provider bills what it produced (a reasoning model that
    # timed out while thinking produced no text, but its input was billed all the same).
    if text or timed_out:
        input_tokens = estimate_tokens(request.instructions) + sum(
            estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in request.messages
        )
        call = Call(
            job.kind,
            alias,
            billed,
            input_tokens,
            0,
            estimate_tokens(text),
            estimated=True,
            message_id=job.turn.assistant_message_id,
        )
        return call, True
    return None, False


def _finish(job: _Job, text: str, outcome: _Outcome) -> None:
    """Save content, status, tokens, cost and provider ids, settle the reservation to the
    real cost in the ledger and add it to the conversation: one transaction."""
    settings = get_settings()
    catalog = load_catalog(settings)
    request = job.request
    outcome._thought()
    answered = (outcome.done.model if outcome.done else None) or request.model
    billed_model = catalog.alias(answered)  # gpt-5-mini-2025-08-07 counts as gpt-5-mini
    model_info = catalog.get(billed_model) or catalog.resolve(request.model)
    usage = outcome.usage
    call, estimated = _own_usage(job, text, outcome, billed_model)
    rows = []
    if call is not None and job.party is not None:
        rows = entries_for(job.party, call, model_info, catalog.tool_prices)
    if call is None:
        own_cost = 0 if outcome.error is not None else None
        input_tokens = output_tokens = 0
    else:
        own_cost = None if model_info is None else total_micros(rows)
        input_tokens, output_tokens = call.input_tokens, call.output_tokens
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
        # Spend is billed even when the conversation was deleted meanwhile.
        reservations.settle(session, job.reservation_id, rows)
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
            # A split's summary is not in the totals yet (only summaries are carried).
            summary = [c for c in job.carried if c["kind"] == "summary"]
            conversation.input_tokens += input_tokens + sum(c["input_tokens"] for c in summary)
            conversation.output_tokens += output_tokens + sum(c["output_tokens"] for c in summary)
            conversation.cost_micros += (own_cost or 0) + sum(c["cost_micros"] for c in summary)
            touch(conversation)
            session.add(conversation)
