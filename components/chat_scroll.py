"""The "Jump to latest" button of the message list (its behaviour is static/chat_scroll.js)."""

from __future__ import annotations

from nicegui import ui

JUMP_LABEL = "Jump to latest"


def jump_to_latest_button() -> ui.button:
    """A hidden button that chat_scroll.js shows while the reader is scrolled up during a reply.

    Clicking it scrolls the list to the newest text and resumes following it (in the browser;
    no round trip, so it works however busy the server is).
    """
    return (
        ui.button(JUMP_LABEL, icon="arrow_downward")
        .props(f'unelevated rounded no-caps size=sm color=primary aria-label="{JUMP_LABEL}"')
        .classes("chat-jump-latest shadow-lg")
        .mark("jump-to-latest")
    )
