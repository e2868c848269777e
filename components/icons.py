"""Material icons as plain HTML, for markup that is one `ui.html` element instead of many."""

from __future__ import annotations

from html import escape


def icon_html(name: str, classes: str = "text-slate-500", label: str = "", size: int = 18) -> str:
    """A Material icon as plain HTML (what `ui.icon` draws, without its element); with
    `label` it is an image of that name, else hidden from screen readers."""
    aria = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    return (
        f'<i class="q-icon notranslate material-icons {classes}" {aria} '
        f'style="font-size: {size}px">{name}</i>'
    )
