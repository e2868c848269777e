"""A small JSON API on NiceGUI's FastAPI app: health, bearer tokens, me, my conversations."""

from __future__ import annotations

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nicegui import app, run

from core import db
from core.errors import AuthError, NotFound, RateLimited
from models import User
from services.accounts.users import authenticate, session_token, user_for_token
from services.chat.conversations import list_conversations
from services.chat.export import export_json
from services.chat.search import search_conversations

bearer = HTTPBearer(auto_error=False)


async def health() -> JSONResponse:
    """`status` plus a real database check; 503 when the database does not answer."""
    ok = await run.io_bound(db.ping)
    body = {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"}
    return JSONResponse(body, status_code=200 if ok else 503)


async def api_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
    """The user a Bearer token belongs to, else 401."""
    token = credentials.credentials if credentials else None
    user = await run.io_bound(user_for_token, token)
    if user is None:
        raise HTTPException(401, "Invalid or expired token", {"WWW-Authenticate": "Bearer"})
    return user


async def create_token(request: Request, username: str = Form(), password: str = Form()) -> dict:
    """Exchange a username and password for a Bearer token (same rules as sign-in)."""
    address = request.client.host if request.client else ""
    try:
        user = await run.io_bound(authenticate, username, password, address)
    except RateLimited as exc:
        headers = {"Retry-After": str(max(1, int(exc.retry_after)))} if exc.retry_after else None
        raise HTTPException(429, str(exc), headers) from exc
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from exc
    return {"access_token": await run.io_bound(session_token, user), "token_type": "bearer"}


async def me(user: User = Depends(api_user)) -> dict:
    """Who the token belongs to."""
    return {"id": user.id, "username": user.username, "role": user.role, "email": user.email}


async def conversations(user: User = Depends(api_user), q: str = "") -> list[dict]:
    """My conversations (first page, pinned first, newest first); `q` searches titles and
    message text (full-text, best match first)."""
    if q.strip():
        found = await run.io_bound(search_conversations, user, q)
        return [
            {
                "id": hit.conversation_id,
                "title": hit.title,
                "assistant": hit.assistant_name,
                "updated_at": hit.updated_at.isoformat(),
                "snippet_html": hit.snippet_html,
            }
            for hit in found.hits
        ]
    items = (await run.io_bound(list_conversations, user)).items
    return [
        {
            "id": item.id,
            "title": item.title,
            "assistant": item.assistant_name,
            "updated_at": item.updated_at.isoformat(),
        }
        for item in items
    ]


async def conversation(conversation_id: int, user: User = Depends(api_user)) -> dict:
    """One of my conversations with its messages, tokens and costs (404 if not mine)."""
    try:
        return await run.io_bound(export_json, user, conversation_id)
    except NotFound as exc:
        raise HTTPException(404, "Conversation not found") from exc


def register_api() -> None:
    """Mount the API routes (called from `app.startup.setup`, so tests get them every time)."""
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/api/token", create_token, methods=["POST"])
    app.add_api_route("/api/me", me, methods=["GET"])
    app.add_api_route("/api/conversations", conversations, methods=["GET"])
    app.add_api_route("/api/conversations/{conversation_id}", conversation, methods=["GET"])
