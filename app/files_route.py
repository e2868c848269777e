"""The only way stored files reach a browser: `GET /files/{id}` and `/files/{id}/thumbnail`.

The requester is the signed-in browser (NiceGUI session token) or an API client with a Bearer
token (a personal API key of any scope, or a session token); `services.files.store.
get_file_for_user` decides visibility, and everything not visible answers exactly like an
unknown URL (404). PNG/JPEG/WebP/GIF are shown inline with their type;
everything else (HTML, SVG, PDF, text ...) is a download (`attachment`, octet-stream). Every
answer carries `nosniff`, a sandboxing CSP and `Cache-Control: no-store`.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse
from nicegui import app, run

from core.errors import NotFound
from models import StoredFile, User
from pages.guard import stored_token
from services.accounts import api_keys
from services.accounts.users import user_for_token
from services.files.images import IMAGE_MIMES, THUMBNAIL_MIME
from services.files.paths import stored_path
from services.files.store import get_file_for_user

FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Not kept by the browser: after sign-out nothing of it is left in the cache.
    "Cache-Control": "no-store",
    # A file opened on its own can run nothing and load nothing.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def content_disposition(kind: str, name: str) -> str:
    """`inline`/`attachment` with an ASCII fallback name and the RFC 5987 UTF-8 name.

    Control and format characters (NUL, right-to-left override, zero-width) and path parts are
    removed first, so the name a browser saves is the one the user sees.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .") or "file"
    fallback = _ASCII_UNSAFE.sub("_", name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _requester(request: Request) -> User | None:
    token = bearer_token(request)
    if token is not None and token.startswith(api_keys.KEY_PREFIX):  # a personal API key
        owner = await run.io_bound(api_keys.owner_for_key, token)
        return owner.user if owner else None
    token = token or stored_token(request)
    return await run.io_bound(user_for_token, token) if token else None


async def _visible_file(request: Request, file_id: str) -> StoredFile:
    user = await _requester(request)
    if user is None:
        raise HTTPException(404)
    try:
        return await run.io_bound(get_file_for_user, user, file_id)
    except NotFound as exc:
        raise HTTPException(404) from exc


def file_response(row: StoredFile, thumbnail: bool) -> FileResponse:
    """The stored bytes (or thumbnail) with the safe type, disposition and headers."""
    path = stored_path(row, thumbnail=thumbnail)
    if path is None:
        raise HTTPException(404)
    if thumbnail:
        mime, kind = THUMBNAIL_MIME, "inline"
    elif row.mime in IMAGE_MIMES:
        mime, kind = row.mime, "inline"
    else:
        mime, kind = "application/octet-stream", "attachment"
    headers = FILE_HEADERS | {"Content-Disposition": content_disposition(kind, row.name)}
    return FileResponse(path, media_type=mime, headers=headers)


async def serve_file(request: Request, file_id: str) -> FileResponse:
    """A stored file: images inline, everything else as a download; 404 when not visible."""
    return file_response(await _visible_file(request, file_id), thumbnail=False)


async def serve_thumbnail(request: Request, file_id: str) -> FileResponse:
    """An image's thumbnail; 404 when not visible or without a thumbnail."""
    return file_response(await _visible_file(request, file_id), thumbnail=True)


def register_files_route() -> None:
    """Mount the file routes (called from `app.startup.setup`)."""
    app.add_api_route("/files/{file_id}", serve_file, methods=["GET"])
    app.add_api_route("/files/{file_id}/thumbnail", serve_thumbnail, methods=["GET"])
