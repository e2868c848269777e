"""Files of a share link: `GET /share/{token}/files/{id}` and `.../thumbnail`.

They answer only while the link exists and the requester may open it (a signed-in teammate,
or anyone for a public link while public links are allowed); everything else is a plain 404,
exactly like an unknown URL. The headers are those of `/files` (no-store, nosniff, sandbox).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse
from nicegui import app, run

from app.files_route import file_response
from core.errors import NotFound
from models import StoredFile
from pages.guard import stored_token
from services.accounts.users import user_for_token
from services.chat.shares import redact_share_tokens, shared_file


async def _shared(request: Request, token: str, file_id: str) -> StoredFile:
    session_token = stored_token(request)
    viewer = await run.io_bound(user_for_token, session_token) if session_token else None
    try:
        return await run.io_bound(shared_file, viewer, token, file_id)
    except NotFound as exc:
        raise HTTPException(404) from exc


async def serve_shared_file(request: Request, token: str, file_id: str) -> FileResponse:
    """A file of the share: images inline, everything else as a download; else 404."""
    return file_response(await _shared(request, token, file_id), thumbnail=False)


async def serve_shared_thumbnail(request: Request, token: str, file_id: str) -> FileResponse:
    """An image's thumbnail through the share; else 404."""
    return file_response(await _shared(request, token, file_id), thumbnail=True)


def register_share_routes() -> None:
    """Mount the share file routes and keep share tokens out of the logs (from `setup`)."""
    redact_share_tokens()
    app.add_api_route("/share/{token}/files/{file_id}", serve_shared_file, methods=["GET"])
    app.add_api_route(
        "/share/{token}/files/{file_id}/thumbnail", serve_shared_thumbnail, methods=["GET"]
    )
