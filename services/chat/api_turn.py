"""One reply for the OpenAI-compatible endpoint: the client's messages are the conversation.

Nothing is saved as a conversation (a client such as an IDE sends its whole history with
every call, as with OpenAI); the call is billed like a chat reply. `begin` checks access,
the per-user limits and every budget, and reserves the worst case in one transaction, the
same `reservations.reserve` a chat send uses. `stream` yields the text from the same
provider adapter the chat uses, then settles the reservation with the ledger rows (kind
`reply`, the assistant named, the conversation label "API · <key name>"), also when the
client goes away mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from core.config import get_settings
from core.db import session_scope
from core.errors import ValidationError
from models import SpendKind, User
from services.assistants.manage import load_for_use
from services.chat.turn import (
    MAX_MESSAGE_CHARS,
    MESSAGE_OVERHEAD_TOKENS,
    assistant_request,
    chat_provider,
)
from services.llm.base import (
    ContextMessage,
    Done,
    ErrorCategory,
    IncompleteReason,
    ReplyError,
    ReplyRequest,
    TextDelta,
    Usage,
    cancelled_error,
)
from services.llm.catalog import load_catalog
from services.usage import reservations
from services.usage.ledger import Call, Party, entries_for
from services.usage.pricing import estimate_tokens, worst_case_micros

log = logging.getLogger(__name__)

CLIENT_ROLES = {"system", "developer", "user", "assistant"}
LABEL_PREFIX = "API · "
FINISH_REASONS = {
    IncompleteReason.length: "length",
    IncompleteReason.content_filter: "content_filter",
}


@dataclass(frozen=True)
class ClientMessage:
    """One message as the client sent it (text only)."""

    role: str
    text: str


@dataclass(frozen=True)
class ApiCall:
    """A call whose worst case is reserved: what `stream` needs (no ORM objects)."""

    reservation_id: int
    request: ReplyRequest
    party: Party


@dataclass
class ApiReply:
    """What the stream produced; filled in while `stream` runs."""

    text: str = ""
    usage: Usage | None = None
    done: Done | None = None
    error: ReplyError | None = None
    chunks: list[str] = field(default_factory=list)

    @property
    def finish_reason(self) -> str:
        """`stop`, `length` or `content_filter`, as Chat Completions names them."""
        if self.done is not None and self.done.incomplete is not None:
            return FINISH_REASONS.get(self.done.incomplete, "stop")
        return "stop"


def _context(assistant_instructions: str, messages: list[ClientMessage]) -> tuple[str, list]:
    """The instructions (the assistant's first, then the client's system messages) and the
    last CONTEXT_MESSAGES user/assistant messages."""
    if not messages:
        raise ValidationError("Send at least one message.", "messages")
    system: list[str] = []
    turns: list[ContextMessage] = []
    for message in messages:
        if message.role not in CLIENT_ROLES:
            raise ValidationError(
                f"Messages with the role {message.role!r} are not supported here.", "messages"
            )
        if len(message.text) > MAX_MESSAGE_CHARS:
            raise ValidationError(
                f"A message is too long (over {MAX_MESSAGE_CHARS:,} characters).", "messages"
            )
        if message.role in ("system", "developer"):
            system.append(message.text)
        else:
            turns.append(ContextMessage(message.role, message.text))
    if not any(turn.role == "user" for turn in turns):
        raise ValidationError("Send at least one user message.", "messages")
    instructions = "\n\n".join(part for part in [assistant_instructions, *system] if part.strip())
    return instructions, turns[-get_settings().context_messages :]


def begin(
    user: User,
    assistant_id: int,
    messages: list[ClientMessage],
    label: str,
    max_output_tokens: int | None = None,
) -> ApiCall:
    """Check access, limits and budgets and reserve the call's worst case (one transaction).

    Raises NotFound (assistant not usable), ValidationError (bad messages), RateLimited
    (MAX_CONCURRENT_REPLIES / SENDS_PER_MINUTE) or BudgetExceeded (a budget would pass).
    """
    catalog = load_catalog(get_settings())
    with session_scope() as session:
        assistant = load_for_use(session, user, assistant_id)
        instructions, turns = _context(assistant.instructions, messages)
        vector_stores = [assistant.vector_store_id] if assistant.vector_store_id else []
        request = assistant_request(
            assistant, instructions, turns, list(assistant.tools or []), vector_stores
        )
        if max_output_tokens is not None and request.max_output_tokens is not None:
            cap = max(16, min(request.max_output_tokens, max_output_tokens))
            request = replace(request, max_output_tokens=cap)
        worst = worst_case_micros(
            catalog.get(request.model),
            _input_tokens(request),
            request.max_output_tokens,
            request.tools,
            catalog.tool_prices,
        )
        hold = reservations.reserve(
            session, user, assistant, None, worst, SpendKind.reply, request.model
        )
        party = Party(
            user_id=user.id,
            user_label=user.username,
            assistant_id=assistant.id,
            assistant_label=assistant.name,
            conversation_label=f"{LABEL_PREFIX}{label}"[:200],
        )
        return ApiCall(hold.id, request, party)


def _input_tokens(request: ReplyRequest) -> int:
    return estimate_tokens(request.instructions) + sum(
        estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in request.messages
    )


async def stream(call: ApiCall, reply: ApiReply) -> AsyncIterator[str]:
    """Yield the reply's text pieces into `reply`; settle the reservation at the end,
    whatever happens (finished, failed, timed out, or the client went away)."""
    settings = get_settings()
    try:
        provider = await chat_provider()
        async with (
            asyncio.timeout(settings.llm_reply_deadline_seconds),
            contextlib.aclosing(provider.stream_reply(call.request)) as events,
        ):
            async for event in events:
                match event:
                    case TextDelta(text=text):
                        reply.chunks.append(text)
                        yield text
                    case Usage():
                        reply.usage = event
                    case Done():
                        reply.done = event
                    case ReplyError():
                        reply.error = event
    except TimeoutError:
        reply.error = ReplyError(ErrorCategory.timeout, "The reply took too long and was stopped.")
    except (asyncio.CancelledError, GeneratorExit):
        reply.error = cancelled_error()
        raise
    finally:
        reply.text = "".join(reply.chunks)
        await asyncio.shield(asyncio.to_thread(_settle, call, reply))


def _settle(call: ApiCall, reply: ApiReply) -> None:
    """Close the reservation with what the call really used (estimated when the provider
    reported nothing but text came, or the call timed out: that was billed too)."""
    catalog = load_catalog(get_settings())
    alias = call.request.model
    billed = reply.done.model if reply.done else None
    if billed:
        alias = catalog.alias(billed)
    usage_call = None
    if reply.usage is not None:
        usage_call = Call.from_usage(SpendKind.reply, alias, billed, reply.usage)
    elif reply.text or (reply.error and reply.error.category == ErrorCategory.timeout):
        usage_call = Call(
            SpendKind.reply,
            alias,
            billed,
            _input_tokens(call.request),
            0,
            estimate_tokens(reply.text),
            estimated=True,
        )
    rows = []
    if usage_call is not None:
        model = catalog.get(alias) or catalog.resolve(call.request.model)
        rows = entries_for(call.party, usage_call, model, catalog.tool_prices)
    with session_scope() as session:
        reservations.settle(session, call.reservation_id, rows)
