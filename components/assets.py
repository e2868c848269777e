"""JavaScript and CSS from `static/` (served at `/static`), each file loaded once per page.

One file per behaviour; a page or component names the files it needs (`use_static`) and the
browser gets a `<script defer>` or stylesheet link for each, with a content hash in the URL so
a new release is never served from a stale browser cache.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from weakref import WeakKeyDictionary

from nicegui import Client, ui

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_URL = "/static"

_loaded: WeakKeyDictionary[Client, set[str]] = WeakKeyDictionary()


@functools.cache
def static_url(name: str) -> str:
    """The URL of `static/<name>`, versioned by its content."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_URL}/{name}?v={digest}"


def use_static(*names: str) -> None:
    """Load these files of `static/` into the current page (again asking for one is a no-op).

    Scripts are deferred: they run once the document is parsed, before the page's app starts.
    """
    loaded = _loaded.setdefault(ui.context.client, set())
    for name in names:
        if name in loaded:
            continue
        loaded.add(name)
        url = static_url(name)
        if name.endswith(".css"):
            ui.add_head_html(f'<link rel="stylesheet" href="{url}">')
        else:
            ui.add_head_html(f'<script defer src="{url}"></script>')
