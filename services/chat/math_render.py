"""LaTeX math (`$…$`, `$$…$$`) as MathML, on the server: Chromium draws MathML natively, so
the page needs no script, font or CDN for it and the CSP stays as strict as it is.

latex2mathml does not escape everything it copies (`\\text{<img src=x>}` comes out as a raw
`<img>` inside `<mtext>`) and passes unknown attributes through (`\\href` gives `href=`), so
its output goes through its own bleach cleaner that knows only MathML presentation elements
and a few layout attributes: no HTML element, no URL, no style. A formula that does not
convert, or is too long, is shown as its escaped source in `<code class="math-source">`.
"""

from __future__ import annotations

import functools
import html
import logging
import threading

import bleach
from latex2mathml.converter import convert

log = logging.getLogger(__name__)

# One formula longer than this is shown as source (a crafted one can recurse very deep).
MAX_FORMULA_CHARS = 2_000

MATH_TAGS = frozenset(
    {
        "math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover",
        "mpadded", "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt",
        "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder",
        "munderover", "none",
    }
)  # fmt: skip
_LAYOUT_ATTRIBUTES = [
    "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth",
    "displaystyle", "fence", "form", "frame", "height", "linethickness", "lspace", "mathsize",
    "mathvariant", "maxsize", "minsize", "movablelimits", "notation", "rowalign", "rowlines",
    "rowspacing", "rspace", "scriptlevel", "separator", "stretchy", "symmetric", "width",
]  # fmt: skip
MATH_ATTRIBUTES = {tag: _LAYOUT_ATTRIBUTES for tag in MATH_TAGS} | {
    "math": ["display", *_LAYOUT_ATTRIBUTES]
}


class _Cleaner(threading.local):
    def __init__(self) -> None:
        self.cleaner = bleach.Cleaner(
            tags=MATH_TAGS, attributes=MATH_ATTRIBUTES, protocols=[], strip=True,
            strip_comments=True,
        )  # fmt: skip


_cleaner = _Cleaner()


def _displayed(inner: str, display: bool, in_paragraph: bool) -> str:
    if not display:
        return inner
    tag = "span" if in_paragraph else "div"  # no <div> inside a <p>
    return f'<{tag} class="math-display">{inner}</{tag}>'


def math_source_html(latex: str, display: bool, in_paragraph: bool = False) -> str:
    """The formula's source, escaped, for when it cannot be drawn."""
    delimiter = "$$" if display else "$"
    code = f'<code class="math-source">{html.escape(delimiter + latex + delimiter)}</code>'
    return _displayed(code, display, in_paragraph)


# latex2mathml costs ~1-3 ms per formula; a streaming tail re-renders its formulas on every
# burst, and history pages repeat them, so conversions are cached (bounded by count and length).
@functools.lru_cache(maxsize=2048)
def math_html(latex: str, display: bool, in_paragraph: bool = False) -> str:
    """`latex` as sanitized MathML (centred on its own line when `display`), or its source.

    `in_paragraph`: a `$$…$$` inside a line of text, wrapped in a span instead of a div.
    """
    if not latex.strip() or len(latex) > MAX_FORMULA_CHARS:
        return math_source_html(latex, display, in_paragraph)
    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # RecursionError on deep braces, parser errors on bad LaTeX
        log.debug("LaTeX did not convert (%d characters)", len(latex), exc_info=True)
        return math_source_html(latex, display, in_paragraph)
    return _displayed(_cleaner.cleaner.clean(mathml), display, in_paragraph)
