"""Wiring: middleware, routes, pages and start-up work. `main.py` calls `setup()`."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import pkgutil
import secrets
import threading
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse
from nicegui import app, background_tasks, run
from nicegui import storage as nicegui_storage
from nicegui.client import Client
from nicegui.page import page
from nicegui.storage import Storage
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware

from app.api import register_api
from app.auth_guard import AuthMiddleware
from app.files_route import register_files_route
from app.http_limits import RequestBodyLimitMiddleware
from app.lifecycle import register_lifecycle, start_instance
from app.oidc import register_oidc_routes
from app.session_storage import is_anonymous, register_session_routes
from app.share_route import register_share_routes
from components.assets import STATIC_DIR, STATIC_URL
from components.error_view import error_view
from components.layout import BRAND_COLORS, apply_theme, not_found_view
from core import db
from core.config import Settings, get_settings
from core.errors import Unavailable
from services.accounts import audit
from services.chat import render_worker, temporary
from services.llm.factory import set_demo_base_url
from services.usage import storage
from simulator.server import start_simulator

log = logging.getLogger(__name__)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Images only from our origin and data:/blob: URLs: model output cannot leak data via <img>.
    # Scripts only from our origin; NiceGUI needs 'unsafe-inline' (it boots each page with an
    # inline script holding the page's elements) and 'unsafe-eval' (Vue compiles the element
    # templates in the browser). No plugins, no <base> rewriting, no framing, forms post here.
    "Content-Security-Policy": "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Adds the security headers to every response, and HSTS when served over https."""

    async def dispatch(self, request: Request, call_next):  # noqa: ANN201
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https" or get_settings().public_url.startswith("https://"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


async def not_found(request: Request, exception: Exception):  # noqa: ANN201
    """Our friendly 404 page for unknown URLs (JSON for API routes, plain for scanners)."""
    if request.url.path.startswith(("/api/", "/v1/", "/_nicegui/")) and isinstance(
        exception, StarletteHTTPException
    ):
        return await http_exception_handler(request, exception)
    if is_anonymous(request):  # no page (a NiceGUI client) for a request without a session
        return PlainTextResponse("Not found", status_code=404)
    with Client(page(""), request=request) as client:
        apply_theme("auto")
        not_found_view()
    return client.build_response(request, 404)


def _reference(exception: Exception) -> tuple[str, bool]:
    """The exception's log reference (new: logged now with its details) and whether it is new."""
    reference = getattr(exception, "studio_reference", None)
    if reference is not None:
        return reference, False
    reference = secrets.token_hex(4)
    exception.studio_reference = reference  # NiceGUI hands one exception to both handlers
    return reference, True


def _is_unavailable(exception: Exception) -> bool:
    return isinstance(exception, Unavailable | sa.exc.OperationalError | sa.exc.InterfaceError)


def page_error(exception: Exception) -> None:
    """A page raised: a friendly page with a reference; the details only in the log."""
    reference, new = _reference(exception)
    if new:
        log.error("Page error, reference %s", reference, exc_info=exception)
    apply_theme("auto")
    error_view(reference, _is_unavailable(exception))


async def server_error(request: Request, exception: Exception):  # noqa: ANN201
    """Any other unhandled error: the same friendly answer (JSON for API routes)."""
    reference, new = _reference(exception)
    if new:
        log.error(
            "Error on %s %s, reference %s",
            request.method,
            request.url.path,
            reference,
            exc_info=exception,
        )
    status = 503 if _is_unavailable(exception) else 500
    if request.url.path.startswith(("/api/", "/v1/", "/_nicegui", "/files/", "/health")):
        return JSONResponse({"detail": "Internal error", "reference": reference}, status)
    with Client(page(""), request=request) as client:
        apply_theme("auto")
        error_view(reference, status == 503)
    return client.build_response(request, status)


def _client_address() -> str:
    """The address of the request (or of the page whose event runs) being served now."""
    request = nicegui_storage.request_contextvar.get()
    return request.client.host if request is not None and request.client else ""


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
    start_instance()  # heartbeat; replies of instances that stopped beating are closed
    if settings.demo_mode:
        _start_demo_simulator(settings)
    if settings.render_worker_prestart:
        threading.Thread(target=render_worker.start, name="render-worker", daemon=True).start()
    log.info("Assistant Studio ready (database: %s)", db.get_engine().url.get_backend_name())


HOURLY_JOB_FIRST_DELAY = 60.0  # let start-up settle first
HOURLY_JOB_INTERVAL = 3600.0
TEMPORARY_JOB_INTERVAL = 600.0


async def _every(
    interval: float, work: Callable[[], object], what: str, first_delay: float = 0.0
) -> None:
    """Run `work` every `interval` seconds (a blocking one off the event loop); a failed run
    is retried on the next round."""
    await asyncio.sleep(first_delay)
    while True:
        try:
            if inspect.iscoroutinefunction(work):
                await work()
            else:
                await run.io_bound(work)
        except Exception:
            log.exception("The %s job failed", what)
        await asyncio.sleep(interval)


def _start_hourly_jobs() -> None:
    # Every instance runs them. Storage: bill yesterday's vector-store storage (the ledger's
    # unique key bills a day once) and expire unused conversation stores. Audit: delete events
    # past AUDIT_RETENTION_DAYS (idempotent).
    for work, what in ((storage.run_daily, "storage billing"), (audit.prune, "audit retention")):
        job = _every(HOURLY_JOB_INTERVAL, work, what, HOURLY_JOB_FIRST_DELAY)
        background_tasks.create(job, name=what.replace(" ", "-"))


def _start_temporary_chat_job() -> None:
    # Every 10 minutes: delete temporary chats older than TEMPORARY_CHAT_HOURS (any instance
    # may run it; deleting an already deleted chat is a no-op).
    job = _every(TEMPORARY_JOB_INTERVAL, temporary.purge_expired, "temporary chat clean-up")
    background_tasks.create(job, name="temporary-chats")


def setup() -> None:
    """Register everything on NiceGUI's app (re-run by the test fixture for every test)."""
    logging.basicConfig(level=get_settings().log_level)
    app.colors(**BRAND_COLORS)
    # Quasar's loading bar (shown while a request is under way) is a role=progressbar: name it.
    app.config.quasar_config["loadingBar"]["aria-label"] = "Loading"
    if "NICEGUI_STORAGE_PATH" not in os.environ:
        # Keep NiceGUI's user storage (the session tokens) with the rest of our data.
        Storage.path = (get_settings().data_dir / ".nicegui").resolve()
    app.add_static_files(STATIC_URL, STATIC_DIR)  # the pages' JavaScript and CSS (public)
    audit.set_address_source(_client_address)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestBodyLimitMiddleware)
    app.add_exception_handler(404, not_found)
    app.add_exception_handler(Exception, server_error)  # replaces NiceGUI's, which shows internals
    app.on_page_exception(page_error)
    register_api()
    register_files_route()
    register_share_routes()
    register_session_routes()
    register_oidc_routes()
    app.on_startup(_startup)
    register_lifecycle()
    app.on_shutdown(render_worker.shutdown)  # the worker process ends with the server
    app.on_startup(_start_hourly_jobs)
    app.on_startup(_start_temporary_chat_job)
    import pages

    # Every module in pages/ registers its routes with @ui.page when imported.
    for module in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"pages.{module.name}")
