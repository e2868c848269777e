"""Wiring: middleware, routes, pages and start-up work. `main.py` calls `setup()`."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import pkgutil
import re

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from nicegui import app, background_tasks, run
from nicegui.client import Client
from nicegui.page import page
from nicegui.storage import Storage
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import register_api
from app.auth_guard import AuthMiddleware
from app.files_route import register_files_route
from components.assets import STATIC_DIR, STATIC_URL
from components.layout import BRAND_COLORS, apply_theme, not_found_view
from core import db
from core.config import Settings, get_settings
from services.chat import render_worker
from services.chat import turn as chat
from services.llm.factory import set_demo_base_url
from services.usage import storage
from simulator.server import start_simulator

log = logging.getLogger(__name__)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Images only from our origin and data:/blob: URLs: model output cannot leak data via <img>.
    "Content-Security-Policy": "img-src 'self' data: blob:; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'self'",
}


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Adds the security headers to every response."""

    async def dispatch(self, request: Request, call_next):  # noqa: ANN201
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


UPLOAD_PATH = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+$")
MULTIPART_OVERHEAD = 64 * 1024


class UploadSizeLimitMiddleware:
    """Refuses oversized uploads before NiceGUI spools them to disk.

    NiceGUI's `ui.upload` limits are checked in the browser only; its route writes the whole
    body to a temporary file before our checks run. Browsers always send Content-Length for
    these requests, so anything without one, or larger than MAX_FILE_MB, is refused here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and UPLOAD_PATH.match(scope["path"]):
            limit = get_settings().max_file_mb * 1024 * 1024 + MULTIPART_OVERHEAD
            length = dict(scope["headers"]).get(b"content-length", b"")
            if not length.isdigit() or int(length) > limit:
                status = 411 if not length.isdigit() else 413
                message = f"Files may be at most {get_settings().max_file_mb} MB."
                await PlainTextResponse(message, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def not_found(request: Request, exception: Exception):  # noqa: ANN201
    """Our friendly 404 page for unknown URLs (JSON for API routes)."""
    if request.url.path.startswith(("/api/", "/_nicegui/")) and isinstance(
        exception, StarletteHTTPException
    ):
        return await http_exception_handler(request, exception)
    with Client(page(""), request=request) as client:
        apply_theme("auto")
        not_found_view()
    return client.build_response(request, 404)


DEMO_THINK_MS = 2500  # reasoning models think a moment in demo mode, so "Thinking…" shows


def _start_demo_simulator(settings: Settings) -> None:
    """Demo mode: serve replies from the built-in OpenAI-compatible simulator on 127.0.0.1,
    at a human pace (SIMULATOR_TOKENS_PER_SECOND), its control routes behind
    SIMULATOR_TOKEN (random when unset)."""
    simulator = start_simulator(
        settings.simulator_port,
        token=settings.simulator_token or None,
        tokens_per_s=settings.simulator_tokens_per_second,
        think_ms=DEMO_THINK_MS if settings.simulator_tokens_per_second else 0,
    )
    set_demo_base_url(simulator.base_url)
    log.warning(
        "No OPENAI_API_KEY: demo mode, replies come from the simulator at %s", simulator.base_url
    )

    def stop() -> None:
        set_demo_base_url(None)
        simulator.stop()

    app.on_shutdown(stop)


def _startup() -> None:
    # Synchronous on purpose: NiceGUI runs async start-up handlers as background tasks, and no
    # request may be served before the schema is at head. Nobody is connected yet to be blocked.
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.migrate()
    chat.recover_stale_replies()  # replies cut off by a crash or restart: none stays streaming
    if settings.demo_mode:
        _start_demo_simulator(settings)
    log.info("Assistant Studio ready (database: %s)", db.get_engine().url.get_backend_name())


STORAGE_JOB_FIRST_DELAY = 60.0  # let start-up settle first
STORAGE_JOB_INTERVAL = 3600.0


async def _storage_job() -> None:
    """Hourly: bill yesterday's vector-store storage (idempotent per day) and expire unused
    conversation stores. Every instance runs it; the ledger's unique key bills a day once."""
    await asyncio.sleep(STORAGE_JOB_FIRST_DELAY)
    while True:
        try:
            await run.io_bound(storage.run_daily)
        except Exception:  # a failed run is retried next hour; the day is still billed once
            log.exception("The storage billing job failed")
        await asyncio.sleep(STORAGE_JOB_INTERVAL)


def _start_storage_job() -> None:
    background_tasks.create(_storage_job(), name="storage-billing")


def setup() -> None:
    """Register everything on NiceGUI's app (re-run by the test fixture for every test)."""
    logging.basicConfig(level=get_settings().log_level)
    app.colors(**BRAND_COLORS)
    if "NICEGUI_STORAGE_PATH" not in os.environ:
        # Keep NiceGUI's user storage (the session tokens) with the rest of our data.
        Storage.path = (get_settings().data_dir / ".nicegui").resolve()
    app.add_static_files(STATIC_URL, STATIC_DIR)  # the pages' JavaScript and CSS (public)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(UploadSizeLimitMiddleware)
    app.add_exception_handler(404, not_found)
    register_api()
    register_files_route()
    app.on_startup(_startup)
    app.on_shutdown(render_worker.shutdown)  # the worker process ends with the server
    app.on_startup(_start_storage_job)
    import pages

    # Every module in pages/ registers its routes with @ui.page when imported.
    for module in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"pages.{module.name}")
