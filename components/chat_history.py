"""Long conversations shown a page at a time: the newest messages, "Load earlier messages" above.

A page with hundreds of messages would hold thousands of elements per open tab (memory on the
server, bytes on the wire), so the chat page draws only the newest `HISTORY_PAGE` messages of
whatever list it shows and adds `HISTORY_PAGE` more above them on each click.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

HISTORY_PAGE = 30
LOAD_EARLIER = "Load earlier messages"


def first_shown(total: int, shown_from: int | None = None, page: int = HISTORY_PAGE) -> int:
    """Index of the first message to draw out of `total`.

    Without `shown_from`, the newest `page` messages; with it (the index drawn first so far),
    `page` more before that one. Never below 0.
    """
    start = total if shown_from is None else shown_from
    return max(0, start - page)


def earlier_button(on_load: Callable[[], None]) -> ui.button:
    """The labelled control drawn above the oldest message shown, while older ones are hidden."""
    return (
        ui.button(LOAD_EARLIER, icon="expand_less", on_click=on_load)
        .props(f'flat no-caps aria-label="{LOAD_EARLIER}"')
        .classes("self-center")
        .mark("load-earlier")
    )
