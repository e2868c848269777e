"""The JSON API under /api, authenticated by a personal API key as the Bearer token.

Everything goes through the same services as the pages: access checks, budgets and
reservations, the per-user limits, the ledger. A `read` key may only read (403 otherwise).
The schema is served at /api/openapi.json and browsed at /api/docs, for signed-in users.
The old password-for-token exchange (`POST /api/token`) is gone: see docs/api.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import Annotated, TypeVar

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nicegui import app, run
from swagger_ui_bundle import swagger_ui_path

from app.api_schemas import (
    AssistantDetail,
    AssistantIn,
    AssistantOut,
    BudgetOut,
    ConversationDetail,
    ConversationIn,
    ConversationOut,
    Me,
    MessageIn,
    UsageOut,
)
from app.openai_api import openai_model_id, register_openai_api
from app.openai_api import router as openai_router
from core import db
from core.errors import (
    AuthError,
    BudgetExceeded,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceError,
    ValidationError,
)
from models import Assistant
from pages.guard import login_url, stored_token
from services.accounts import api_keys
from services.accounts.api_keys import KeyOwner
from services.accounts.users import user_for_token
from services.assistants import manage
from services.chat import conversations as chats
from services.chat import generation
from services.chat import turn as chat
from services.chat.export import export_json
from services.chat.search import search_conversations
from services.runtime import liveness
from services.usage import budgets, spend
from services.usage.pricing import format_usd

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="A personal API key (`as_…`)")
DOCS_ASSETS = "/api/docs-assets"
ERROR_STATUS = (
    (ValidationError, 422),
    (NotFound, 404),
    (PermissionDenied, 403),
    (AuthError, 401),
    (BudgetExceeded, 402),
    (RateLimited, 429),
)


async def health() -> JSONResponse:
    """`status` plus a real database check; 503 when the database does not answer or the
    instance is shutting down (a load balancer then sends no one new). `instance` is this
    process's random id, the one its reply rows carry."""
    ok = await run.io_bound(db.ping)
    body = {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"}
    if liveness.draining():
        ok, body["status"] = False, "draining"
    body["instance"] = liveness.INSTANCE_ID
    return JSONResponse(body, status_code=200 if ok else 503)


async def key_owner(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyOwner:
    """The owner of the Bearer API key, else 401 (unknown, revoked, expired, disabled)."""
    secret = credentials.credentials if credentials else None
    owner = await run.io_bound(api_keys.owner_for_key, secret)
    if owner is None:
        raise HTTPException(
            401, "Invalid, revoked or expired API key", {"WWW-Authenticate": "Bearer"}
        )
    return owner


async def chat_key(owner: Annotated[KeyOwner, Depends(key_owner)]) -> KeyOwner:
    """A key with the chat scope (403 for a read-only key)."""
    if not owner.can_chat:
        raise HTTPException(403, "This API key is read-only; use a key with the chat scope.")
    return owner


Reader = Annotated[KeyOwner, Depends(key_owner)]
Writer = Annotated[KeyOwner, Depends(chat_key)]


def http_error(exc: ServiceError) -> HTTPException:
    """A service error as the HTTP error with its friendly message."""
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return HTTPException(status, str(exc))
    return HTTPException(400, str(exc))


async def _call(function: Callable[..., T], *args: object) -> T:
    """Run a blocking service call off the loop; its errors become HTTP errors."""
    try:
        return await run.io_bound(function, *args)
    except ServiceError as exc:
        raise http_error(exc) from exc


router = APIRouter(prefix="/api", tags=["Assistant Studio API"])


@router.get("/me", response_model=Me)
async def me(owner: Reader) -> Me:
    """Who the key belongs to."""
    user = owner.user
    return Me(
        id=user.id,
        username=user.username,
        role=user.role,
        email=user.email,
        key_name=owner.key_name,
        key_scope=owner.scope,
    )


# ---------------------------------------------------------------- assistants


def _assistant_out(assistant: Assistant, owner: KeyOwner) -> AssistantDetail:
    return AssistantDetail(
        id=assistant.id,
        name=assistant.name,
        description=assistant.description,
        model=assistant.model,
        tools=list(assistant.tools or []),
        shared=assistant.shared,
        owner_id=assistant.owner_id,
        can_edit=manage.can_edit(owner.user, assistant),
        openai_model=openai_model_id(assistant.id),
        instructions=assistant.instructions,
        temperature=assistant.temperature,
        top_p=assistant.top_p,
        reasoning_effort=assistant.reasoning_effort,
        monthly_budget_usd=manage.budget_text(assistant.monthly_budget_micros),
    )


def _assistant_input(body: AssistantIn) -> manage.AssistantInput:
    values = body.model_dump()
    if not values["model"]:
        values.pop("model")
    return manage.AssistantInput(**values)


@router.get("/assistants", response_model=list[AssistantOut])
async def list_assistants(owner: Reader, q: str = "") -> list[AssistantOut]:
    """My assistants and the team's shared ones."""
    items = await _call(manage.list_assistants, owner.user, q)
    return [
        AssistantOut(
            id=item.id,
            name=item.name,
            description=item.description,
            model=item.model,
            tools=list(item.tools),
            shared=item.shared,
            owner_id=item.owner_id,
            can_edit=item.can_edit,
            openai_model=openai_model_id(item.id),
        )
        for item in items
    ]


@router.post("/assistants", response_model=AssistantDetail, status_code=201)
async def create_assistant(body: AssistantIn, owner: Writer) -> AssistantDetail:
    """Create an assistant of mine."""
    created = await _call(manage.create_assistant, owner.user, _assistant_input(body))
    return _assistant_out(created, owner)


@router.get("/assistants/{assistant_id}", response_model=AssistantDetail)
async def get_assistant(assistant_id: int, owner: Reader) -> AssistantDetail:
    """One assistant I may use (404 otherwise)."""
    return _assistant_out(
        await _call(manage.get_assistant_for_use, owner.user, assistant_id), owner
    )


@router.put("/assistants/{assistant_id}", response_model=AssistantDetail)
async def update_assistant(assistant_id: int, body: AssistantIn, owner: Writer) -> AssistantDetail:
    """Replace an assistant's settings (its owner or an admin)."""
    data = _assistant_input(body)
    updated = await _call(manage.update_assistant, owner.user, assistant_id, data)
    return _assistant_out(updated, owner)


@router.delete("/assistants/{assistant_id}", status_code=204)
async def delete_assistant(assistant_id: int, owner: Writer) -> None:
    """Delete an assistant (its owner or an admin); its conversations stay readable."""
    await _call(manage.delete_assistant, owner.user, assistant_id)


# ---------------------------------------------------------------- conversations


@router.get("/conversations", response_model=list[ConversationOut])
async def list_conversations(owner: Reader, q: str = "") -> list[ConversationOut]:
    """My conversations (the first page, pinned first, then newest first); `q` searches
    titles and message text (full-text, best match first, with a highlighted snippet)."""
    if q.strip():
        found = await _call(search_conversations, owner.user, q)
        return [
            ConversationOut(
                id=hit.conversation_id,
                title=hit.title,
                assistant=hit.assistant_name,
                updated_at=hit.updated_at,
                snippet_html=hit.snippet_html,
            )
            for hit in found.hits
        ]
    page = await _call(chats.list_conversations, owner.user)
    return [
        ConversationOut(
            id=item.id, title=item.title, assistant=item.assistant_name, updated_at=item.updated_at
        )
        for item in page.items
    ]


@router.post("/conversations", response_model=ConversationOut, status_code=201)
async def create_conversation(body: ConversationIn, owner: Writer) -> ConversationOut:
    """Start an empty conversation with an assistant I may use."""
    created = await _call(chats.create_conversation, owner.user, body.assistant_id)
    return ConversationOut(id=created.id, title=created.title, updated_at=created.updated_at)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(conversation_id: int, owner: Reader) -> dict:
    """One of my conversations with its messages, tokens and costs (404 if not mine)."""
    return await _call(export_json, owner.user, conversation_id)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: int, owner: Writer) -> None:
    """Delete one of my conversations (a reply still running in it is stopped first)."""
    chat.stop_conversation(owner.user, conversation_id)
    await _call(chats.delete_conversation, owner.user, conversation_id)


def _sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _reply_events(owner: KeyOwner, started: chat.Turn) -> AsyncIterator[bytes]:
    """`started`, then `delta` events as the reply streams, then `done` with the saved reply."""
    yield _sse(
        "started",
        {
            "conversation_id": started.conversation_id,
            "user_message_id": started.user_message_id,
            "assistant_message_id": started.assistant_message_id,
            "notice": started.notice,
            "warning": started.warning,
        },
    )
    running = generation.get(started.assistant_message_id)
    if running is not None:
        changed = asyncio.Event()
        running.subscribe(changed.set)
        sent = 0
        try:
            while True:
                text = running.text
                if len(text) > sent:
                    yield _sse("delta", {"text": text[sent:]})
                    sent = len(text)
                if running.finished:
                    break
                await changed.wait()
                changed.clear()
        finally:
            running.unsubscribe(changed.set)
    message, conversation, _ = await run.io_bound(
        chat.reply_outcome, owner.user, started.assistant_message_id
    )
    yield _sse(
        "done",
        {
            "conversation_id": conversation.id,
            "message_id": message.id,
            "status": str(message.status),
            "error": message.error,
            "content": message.content,
            "input_tokens": message.input_tokens,
            "output_tokens": message.output_tokens,
            "cost_micros": message.cost_micros,
        },
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-sent events: `started`, `delta` (text), `done` (the saved "
            "reply: status, content, tokens, cost).",
        },
        402: {"description": "A monthly budget would be passed"},
        403: {"description": "Read-only key"},
        429: {"description": "Replies at once or sends per minute reached"},
    },
)
async def send_message(conversation_id: int, body: MessageIn, owner: Writer) -> StreamingResponse:
    """Send a message and stream the reply as server-sent events.

    The reply runs on the server like one sent from the chat page: if the client goes away,
    it still finishes and is saved in the conversation."""
    try:
        started = await chat.send(owner.user, conversation_id, body.text)
    except ServiceError as exc:
        raise http_error(exc) from exc
    return StreamingResponse(
        _reply_events(owner, started),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------- usage


def _usage(owner: KeyOwner) -> UsageOut:
    user = owner.user
    totals = spend.month_totals(user).this
    status = spend.budget_status(user)
    return UsageOut(
        month_start=budgets.month_start(),
        replies=totals.messages,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost_micros=totals.cost_micros,
        cost_usd=format_usd(totals.cost_micros),
        budget=BudgetOut(**{k: v for k, v in asdict(status).items() if k != "scope"}),
        resets_on=budgets.resets_on(),
    )


@router.get("/usage", response_model=UsageOut)
async def usage(owner: Reader) -> UsageOut:
    """This month's spend, tokens and replies (chat and API alike), and my budget."""
    return await _call(_usage, owner)


# ---------------------------------------------------------------- docs (signed-in users)


async def _signed_in(request: Request) -> bool:
    token = stored_token(request)
    return token is not None and await run.io_bound(user_for_token, token) is not None


def _schema() -> dict:
    return get_openapi(
        title="Assistant Studio API",
        version="1",
        description="Personal API keys (Bearer). See docs/api.md.",
        routes=[*router.routes, *openai_router.routes],
    )


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI schema of /api and /v1 (signed-in users only)."""
    if not await _signed_in(request):
        raise HTTPException(401, "Sign in to read the API documentation")
    return JSONResponse(_schema())


async def docs(request: Request) -> HTMLResponse:
    """Swagger UI from this server's own files (signed-in users; others go to sign-in)."""
    if not await _signed_in(request):
        return RedirectResponse(login_url("/api/docs"))
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="Assistant Studio API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    )


def register_api() -> None:
    """Mount the API routes (called from `app.startup.setup`, so tests get them every time)."""
    app.add_api_route("/health", health, methods=["GET"])
    app.include_router(router)
    app.add_api_route("/api/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)
    app.add_api_route("/api/docs", docs, methods=["GET"], include_in_schema=False)
    app.add_static_files(DOCS_ASSETS, swagger_ui_path)
    register_openai_api()
