"""Page headings as real `<h1>`/`<h2>` elements, so screen readers can jump between them."""

from __future__ import annotations

from nicegui.elements.mixins.text_element import TextElement

LEVEL_CLASSES = {
    1: "text-2xl font-semibold text-slate-800 dark:text-slate-100",
    2: "text-lg font-semibold text-slate-800 dark:text-slate-100",
}


class Heading(TextElement):
    """`<h1>` (or `<h2>`) text; Quasar's oversized heading type is reset to the app's scale."""

    def __init__(self, text: str = "", level: int = 1) -> None:
        super().__init__(tag=f"h{level}", text=text)
        self.classes(f"{LEVEL_CLASSES[level]} tracking-normal leading-tight")


def heading(text: str = "", level: int = 1) -> Heading:
    """A page (level 1) or section (level 2) heading."""
    return Heading(text, level)
