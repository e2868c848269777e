"""Entry point: `uv run main.py` serves Assistant Studio."""

from nicegui import app, ui

from app.gc_tuning import tune_gc
from app.http_limits import HeadTimeoutProtocol
from app.nicegui_tuning import speed_up_nicegui
from app.startup import setup
from core.config import get_settings


def main() -> None:
    """Build the app and serve it with the configured settings."""
    settings = get_settings()
    speed_up_nicegui()
    setup()
    app.on_startup(tune_gc)
    ui.run(
        host=settings.host,
        port=settings.port,
        title="Assistant Studio",
        favicon="✨",
        language="en-US",  # also the page's <html lang>, which screen readers need
        storage_secret=settings.resolved_secret_key(),
        session_middleware_kwargs={
            "same_site": "lax",
            "https_only": settings.public_url.startswith("https://"),
        },
        reload=False,
        show=False,
        show_welcome_message=False,
        # Chat deltas are small: compressing every websocket message costs more CPU than it
        # saves bytes (docs/performance.md).
        ws_per_message_deflate=False,
        # X-Forwarded-For/-Proto are believed only from TRUSTED_PROXIES (uvicorn's default
        # trusts 127.0.0.1, so any local process could pick the client address).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        # Request heads have a deadline and a size cap; idle keep-alive connections close.
        http=HeadTimeoutProtocol,
        timeout_keep_alive=5,
        # SIGTERM: connections get this long to close while the live replies are saved.
        timeout_graceful_shutdown=max(settings.shutdown_grace_seconds - 1, 1),
    )


# Only as the main script: the Markdown render worker (services/chat/render_worker.py) is spawned
# and re-imports this file as `__mp_main__`, where building a second app would be wasted work.
if __name__ == "__main__":
    main()
