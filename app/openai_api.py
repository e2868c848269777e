"""The OpenAI-compatible endpoint: `POST /v1/chat/completions` and `GET /v1/models`.

A personal API key is the bearer token; `model` is `assistant-<id>`, an assistant its owner
may use. The assistant's instructions, model and tools apply; the client's messages are the
conversation (not saved as one). Every call is reserved, limited and billed through
`services.chat.api_turn`, exactly like a chat reply. Errors use OpenAI's shape,
`{"error": {"message", "type", "param", "code"}}`, so the official SDKs raise their usual
exceptions.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nicegui import app, run
from pydantic import BaseModel, ConfigDict, Field

from core.errors import BudgetExceeded, NotFound, RateLimited, ServiceError, ValidationError
from services.accounts import api_keys
from services.accounts.api_keys import KeyOwner
from services.assistants.manage import list_assistants
from services.chat import api_turn
from services.chat.api_turn import ApiReply, ClientMessage

OPENAI_PREFIX = "/v1"
MODEL_PREFIX = "assistant-"
bearer = HTTPBearer(auto_error=False, description="A personal API key (`as_…`)")


def openai_model_id(assistant_id: int) -> str:
    """The `model` naming an assistant on this endpoint."""
    return f"{MODEL_PREFIX}{assistant_id}"


class OpenAIError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry: bool = True,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.param, self.retry = status, kind, code, param, retry

    def body(self) -> dict:
        """The JSON body OpenAI's clients parse."""
        return {
            "error": {
                "message": str(self),
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def _from_service(exc: ServiceError) -> OpenAIError:
    # The SDKs retry 429s; a budget refusal will not change in a second, so say not to.
    if isinstance(exc, BudgetExceeded):
        return OpenAIError(429, str(exc), "insufficient_quota", "budget_exceeded", retry=False)
    if isinstance(exc, RateLimited):
        return OpenAIError(429, str(exc), "rate_limit_error", "rate_limit_exceeded")
    if isinstance(exc, NotFound):
        return OpenAIError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, ValidationError):
        return OpenAIError(400, str(exc), param=exc.field)
    return OpenAIError(400, str(exc))


async def openai_error(request: Request, exc: OpenAIError) -> JSONResponse:
    """Answer an OpenAIError."""
    headers = {} if exc.retry else {"x-should-retry": "false"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.body(), exc.status, headers)


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A malformed /v1 body in OpenAI's shape; elsewhere FastAPI's usual 422."""
    if not request.url.path.startswith(OPENAI_PREFIX + "/"):
        return await request_validation_exception_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    message = f"Invalid request: {first.get('msg', 'malformed body')}" + (
        f" ({where})" if where else ""
    )
    return await openai_error(request, OpenAIError(400, message, param=where))


async def key_owner(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyOwner:
    """The owner of the Bearer API key, else 401 in OpenAI's shape."""
    secret = credentials.credentials if credentials else None
    owner = await run.io_bound(api_keys.owner_for_key, secret)
    if owner is None:
        raise OpenAIError(
            401,
            "Incorrect, revoked or expired API key. Create a key in your profile.",
            code="invalid_api_key",
        )
    return owner


Owner = Annotated[KeyOwner, Depends(key_owner)]


class ContentPart(BaseModel):
    """A content part; only `text` parts are accepted."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """A message of the conversation the client sends."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    """`include_usage`: a last chunk with the usage before `[DONE]`."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The Chat Completions body; sampling parameters are the assistant's (others ignored)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description="`assistant-<id>`, as listed by GET /v1/models")
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_completion_tokens: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1, description="Deprecated alias")
    n: int | None = Field(1, ge=1, le=1)


class Model(BaseModel):
    """An assistant the key's owner may use, as a model."""

    id: str
    object: str = "model"
    created: int
    owned_by: str
    name: str


class ModelList(BaseModel):
    """GET /v1/models."""

    object: str = "list"
    data: list[Model]


class CompletionUsage(BaseModel):
    """Tokens of one call, as reported by the provider (with OpenAI's details)."""

    model_config = ConfigDict(extra="allow")

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChoiceMessage(BaseModel):
    """The reply."""

    role: str = "assistant"
    content: str
    refusal: str | None = None


class Choice(BaseModel):
    """The one choice."""

    index: int = 0
    message: ChoiceMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A non-streamed reply."""

    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None


router = APIRouter(prefix=OPENAI_PREFIX, tags=["OpenAI-compatible"])


@router.get("/models", response_model=ModelList)
async def models(owner: Owner) -> ModelList:
    """The assistants the key's owner may use (own and shared), as models."""
    items = await run.io_bound(list_assistants, owner.user)
    return ModelList(
        data=[
            Model(
                id=openai_model_id(item.id),
                created=int(item.updated_at.timestamp()),
                owned_by=item.owner_name,
                name=item.name,
            )
            for item in items
        ]
    )


def _assistant_id(model: str) -> int:
    number = model.removeprefix(MODEL_PREFIX)
    if not model.startswith(MODEL_PREFIX) or not number.isdigit():
        raise OpenAIError(
            404,
            f"The model {model!r} does not exist: name an assistant as assistant-<id> "
            "(GET /v1/models lists yours).",
            code="model_not_found",
            param="model",
        )
    return int(number)


def _text(message: ChatMessage) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    if any(part.type != "text" for part in message.content):
        raise OpenAIError(400, "Only text content parts are supported.", param="messages")
    return "".join(part.text or "" for part in message.content)


def _usage(reply: ApiReply) -> dict | None:
    if reply.usage is None:
        return None
    prompt, completion = reply.usage.input_tokens, reply.usage.output_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": reply.usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reply.usage.reasoning_tokens},
    }


def _sse(data: dict) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


async def _chunks(
    call: api_turn.ApiCall, body: ChatCompletionRequest, ident: str, created: int
) -> AsyncIterator[bytes]:
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    reply = ApiReply()

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            data["usage"] = None
        return _sse(data)

    yield chunk({"role": "assistant", "content": ""})
    async for text in api_turn.stream(call, reply):
        yield chunk({"content": text})
    if reply.error is not None and not reply.text:
        yield _sse(OpenAIError(502, reply.error.message, "api_error", reply.error.category).body())
        return
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield _sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [],
                "usage": _usage(reply),
            }
        )
    yield b"data: [DONE]\n\n"


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE chunks"},
        401: {"description": "Wrong, revoked or expired key"},
        403: {"description": "Read-only key"},
        429: {"description": "Budget (insufficient_quota) or rate limit"},
    },
)
async def chat_completions(body: ChatCompletionRequest, owner: Owner) -> Response:
    """One reply by the named assistant to the client's messages, streamed or not."""
    if not owner.can_chat:
        raise OpenAIError(
            403,
            "This API key is read-only; use a key with the chat scope to send messages.",
            "permission_error",
            "insufficient_scope",
        )
    assistant_id = _assistant_id(body.model)
    messages = [ClientMessage(m.role, _text(m)) for m in body.messages]
    cap = body.max_completion_tokens or body.max_tokens
    try:
        call = await run.io_bound(
            api_turn.begin, owner.user, assistant_id, messages, owner.key_name, cap
        )
    except ServiceError as exc:
        raise _from_service(exc) from exc
    ident = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if body.stream:
        return StreamingResponse(
            _chunks(call, body, ident, created),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    reply = ApiReply()
    async for _ in api_turn.stream(call, reply):
        pass
    if reply.error is not None and not reply.text:
        raise OpenAIError(502, reply.error.message, "api_error", reply.error.category)
    completion = ChatCompletion(
        id=ident,
        created=created,
        model=body.model,
        choices=[
            Choice(message=ChoiceMessage(content=reply.text), finish_reason=reply.finish_reason)
        ],
        usage=_usage(reply),
    )
    return JSONResponse(completion.model_dump())


def register_openai_api() -> None:
    """Mount /v1 and its OpenAI-shaped errors (called from `app.api.register_api`)."""
    app.include_router(router)
    app.add_exception_handler(OpenAIError, openai_error)
    app.add_exception_handler(RequestValidationError, validation_error)
