"""Markdown to safe HTML for chat messages, sanitized on the server.

Two layers: markdown-it-py (CommonMark + tables + strikethrough, raw HTML off so it shows as
text) turns Markdown into HTML, then bleach keeps only an allow-list of tags and attributes
and our `_SafeLinksFilter` enforces the URL rules:

- links: only http(s), mailto, in-page `#` anchors and relative paths; every link opens in a new
  tab with `rel="noopener noreferrer"`;
- images: only our own files (`/files/<id>`) and `data:image/{png,jpeg,gif,webp};base64`; any other
  image (a remote URL a prompt-injected answer could use to leak data) becomes a link that is
  *not* loaded: `<a class="remote-image" data-remote-image ...>`;
- code blocks: highlighted by Pygments (`services.chat.code_highlight`) under a language label,
  in `<pre class="code-block" data-copy-code>` (the chat page adds a "Copy code" button to
  every `pre[data-copy-code]`);
- math: `$…$` and `$$…$$` become MathML (`services.chat.math_render`, its own strict cleaner).

Code blocks and formulas are rendered by markdown-it as placeholders; their HTML (Pygments
escapes every character it writes; MathML has been through its own cleaner) replaces the
placeholders after bleach, which keeps bleach's allow-list free of MathML and its cost free of
Pygments' thousands of spans. Placeholder characters are stripped from the input first.

Bounded work, whatever a message holds (issue 13): markdown-it is linear in its input (the
old markdown2 was quadratic on `[a](` runs and backticks, and recursed on tab runs), text
longer than MAX_MARKDOWN_CHARS is shown as escaped plain text, and any renderer error falls
back to escaped plain text, so a message always shows and a conversation always opens.
Linear is not cheap in pure Python (crafted 32k texts take up to ~4 s), so callers on the
event loop use `render_if_cheap` and leave anything else to `services.chat.render_worker`
(a separate process with a time limit per message). Finished texts are cached; the converter and the
bleach Cleaner are built once per thread. Figures: `uv run python -m bench.render_markdown`.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

import bleach
import orjson
from bleach.html5lib_shim import Filter, convert_entities
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from services.chat.code_highlight import code_block_html
from services.chat.math_render import math_html, math_source_html

log = logging.getLogger(__name__)

# Longer text is shown as escaped plain text: bounds one render to a few seconds in a worker.
MAX_MARKDOWN_CHARS = 100_000
# Text this short renders in under ~25 ms even when crafted (~110 us per character at worst,
# bleach's share included): fine on the event loop. Typical text costs ~4 us per character.
INLINE_RENDER_CHARS = 200
# Block nesting (`> > >`, lists in lists) deeper than this is shown as text.
MAX_NESTING = 20
# Formulas past this many in one message are shown as their source (each costs ~0.1-1 ms).
MAX_FORMULAS = 300

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
        "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "img": ["src", "alt", "title"],
    "code": ["class"],
    "span": ["class"],
    "div": ["class"],
    "ol": ["start"],
}
# bleach's own protocol check; `_SafeLinksFilter` then narrows `data:` to images only.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"

# Our own file URLs: the only non-data images the browser may load.
LOCAL_IMAGE_RE = re.compile(r"^/files/[0-9a-f]{32}(?:/thumbnail)?$")
DATA_IMAGE_RE = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
# Class names the renderer/Pygments emit; anything else (say Tailwind's `fixed inset-0`) is dropped.
CLASS_RULES = {
    "span": re.compile(r"^[a-z]{1,3}[0-9]?$"),
    "code": re.compile(r"^language-[a-z0-9+#_-]{1,30}$"),
    "div": re.compile(r"^codehilite$"),
}
_URL_NOISE_RE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# Characters we use as citation placeholders; never accepted from the text itself.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARK_RE = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")
# Where a code block's or formula's HTML goes once the rest is sanitized.
_PIECE_OPEN, _PIECE_CLOSE = "\ue002", "\ue003"
_PIECE_RE = re.compile(f"{_PIECE_OPEN}(\\d+){_PIECE_CLOSE}")
_STRIPPED_INPUT_RE = re.compile(f"[\\x00{_MARK_OPEN}{_MARK_CLOSE}{_PIECE_OPEN}{_PIECE_CLOSE}]")
_FILE_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def _normalized_url(value: str) -> str:
    """The URL as a browser would read its scheme: entities decoded, noise removed, lower-case."""
    return _NON_ASCII_RE.sub("", _URL_NOISE_RE.sub("", convert_entities(value))).lower()


def safe_link_url(value: str) -> str | None:
    """`value` if it is a link we allow (http(s), mailto, `#anchor`, relative path), else None."""
    normalized = _normalized_url(value)
    if not normalized:
        return None
    try:
        scheme = urlsplit(normalized).scheme
    except ValueError:
        return None
    if scheme:
        return value if scheme in LINK_SCHEMES else None
    if ":" in normalized.split("/", 1)[0]:  # "javascript&colon;..." style leftovers
        return None
    return value


def is_safe_image_src(value: str) -> bool:
    """True for images the browser may load: our `/files/...` URLs and inline data images."""
    return bool(LOCAL_IMAGE_RE.match(value) or DATA_IMAGE_RE.match(value))


def _link_attrs(href: str) -> dict:
    return {
        (None, "href"): href,
        (None, "target"): "_blank",
        (None, "rel"): LINK_REL,
    }


class _SafeLinksFilter(Filter):
    """Runs after bleach's sanitizer: URL rules, remote images, class allow-list, code hooks."""

    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            kind, name = token["type"], token.get("name")
            if kind in ("StartTag", "EmptyTag"):
                attrs = token["data"]
                self._filter_classes(name, attrs)
                if name == "a":
                    href = attrs.pop((None, "href"), None)
                    safe = safe_link_url(href) if href not in (None, "#") else None
                    if safe is not None:
                        attrs.update(_link_attrs(safe))
                elif name == "img":
                    yield from self._image(attrs)
                    continue
                elif name == "pre":
                    attrs[(None, "class")] = "code-block"
                    attrs[(None, "data-copy-code")] = ""
            yield token

    @staticmethod
    def _filter_classes(name: str, attrs: dict) -> None:
        value = attrs.pop((None, "class"), None)
        rule = CLASS_RULES.get(name)
        if value is None or rule is None:
            return
        kept = [part for part in value.split() if rule.match(part)]
        if kept:
            attrs[(None, "class")] = " ".join(kept)

    @staticmethod
    def _image(attrs: dict) -> Iterator[dict]:
        src = attrs.get((None, "src"), "")
        if is_safe_image_src(src):
            yield {"type": "EmptyTag", "name": "img", "data": attrs}
            return
        label = attrs.get((None, "alt")) or "image"
        href = safe_link_url(src) if src else None
        if href is None or urlsplit(_normalized_url(href)).scheme not in ("http", "https"):
            yield {"type": "Characters", "data": f"[{label}]"}
            return
        link = _link_attrs(href) | {
            (None, "class"): "remote-image",
            (None, "data-remote-image"): "",
            (None, "title"): "Remote image, not loaded. Opens in a new tab.",
        }
        yield {"type": "StartTag", "name": "a", "namespace": None, "data": link}
        yield {"type": "Characters", "data": f"Remote image: {label}"}
        yield {"type": "EndTag", "name": "a", "namespace": None}


def _piece(env: dict, html_text: str) -> str:
    """A placeholder for HTML that joins the output after sanitizing (see the module)."""
    pieces = env.setdefault("pieces", [])
    pieces.append(html_text)
    return f"{_PIECE_OPEN}{len(pieces) - 1}{_PIECE_CLOSE}"


def _render_fence(self, tokens: list[Token], idx: int, options: dict, env: dict) -> str:
    token = tokens[idx]
    return _piece(env, code_block_html(token.content, token.info)) + "\n"


def _render_code_block(self, tokens: list[Token], idx: int, options: dict, env: dict) -> str:
    return _piece(env, code_block_html(tokens[idx].content, "")) + "\n"


def _math_rule(display: bool, in_paragraph: bool) -> Callable:
    def render(self, tokens: list[Token], idx: int, options: dict, env: dict) -> str:
        latex = tokens[idx].content
        env["formulas"] = env.get("formulas", 0) + 1
        convert = math_html if env["formulas"] <= MAX_FORMULAS else math_source_html
        return _piece(env, convert(latex, display, in_paragraph)) + ("" if in_paragraph else "\n")

    return render


def _build_markdown() -> MarkdownIt:
    markdown = (
        MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING})
        .enable(["table", "strikethrough"])
        .use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    )
    markdown.add_render_rule("fence", _render_fence)
    markdown.add_render_rule("code_block", _render_code_block)
    for name, display, in_paragraph in (
        ("math_inline", False, True),
        ("math_inline_double", True, True),
        ("math_block", True, False),
        ("math_block_label", True, False),
    ):
        markdown.add_render_rule(name, _math_rule(display, in_paragraph))
    return markdown


class _Renderers(threading.local):
    """One converter and one cleaner per thread (neither is safe to share across threads)."""

    def __init__(self) -> None:
        self.markdown = _build_markdown()
        self.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
            filters=[_SafeLinksFilter],
        )


_renderers = _Renderers()


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment with the same allow-list and URL rules as `render_markdown`."""
    return _renderers.cleaner.clean(fragment)


class CacheInfo(NamedTuple):
    """Counters of a `RenderCache` (the shape of `functools.lru_cache`'s)."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class RenderCache:
    """An LRU of rendered HTML, bounded in entries and in characters held.

    Unlike `functools.lru_cache` it can say whether it holds a text without rendering it
    (`peek`), which the event loop needs to choose between drawing now and rendering in the
    worker, and it takes results rendered elsewhere (`put`, from the worker process).
    """

    def __init__(self, render: Callable[..., str], maxsize: int, max_chars: int) -> None:
        self.__wrapped__ = render
        self.__doc__ = render.__doc__
        self._maxsize, self._max_chars, self._chars = maxsize, max_chars, 0
        self._entries: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def peek(self, *key: object) -> str | None:
        """The cached HTML for these arguments, or None (counts as a hit when found)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self._hits += 1
            return found

    def put(self, key: tuple, html: str) -> None:
        """Remember `html` for `key`, dropping the least recently used entries over the bounds."""
        with self._lock:
            previous = self._entries.pop(key, None)
            self._chars += len(html) - (len(previous) if previous is not None else 0)
            self._entries[key] = html
            while self._entries and (
                len(self._entries) > self._maxsize or self._chars > self._max_chars
            ):
                self._chars -= len(self._entries.popitem(last=False)[1])

    def __call__(self, *key: object) -> str:
        found = self.peek(*key)
        if found is not None:
            return found
        html = self.__wrapped__(*key)
        with self._lock:
            self._misses += 1
        self.put(key, html)
        return html

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size, as `functools.lru_cache` reports them."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, self._maxsize, len(self._entries))

    def cache_clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._chars = self._hits = self._misses = 0


def plain_html(text: str) -> str:
    """`text` as escaped plain text in one paragraph: the fallback that always works."""
    if not text.strip():
        return ""
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br>\n") + "</p>\n"


def _nesting_overflows(tokens: list[Token]) -> bool:
    """True when a quote or list item sits so deep that markdown-it dropped what it holds.

    Past `maxNesting` markdown-it skips the rest of the container silently; a message must
    never lose text, so such a text is shown as plain text instead.
    """
    return any(
        token.level >= MAX_NESTING - 1
        for token in tokens
        if token.type in ("blockquote_open", "list_item_open")
    )


def _convert(text: str) -> str:
    """Markdown as sanitized HTML; escaped plain text when too long or on any renderer error."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return plain_html(text)
    try:
        markdown = _renderers.markdown
        env: dict = {}
        tokens = markdown.parse(text, env)
        if _nesting_overflows(tokens):
            return plain_html(text)
        body = sanitize_html(markdown.renderer.render(tokens, markdown.options, env))
        pieces = env.get("pieces")
        return _PIECE_RE.sub(lambda m: pieces[int(m[1])], body) if pieces else body
    except Exception:  # RecursionError, MemoryError, a renderer bug: the message must still show
        log.warning(
            "Markdown rendering failed for %d characters; shown as plain text",
            len(text),
            exc_info=True,
        )
        return plain_html(text)


_OPEN_LINK_RE = re.compile(r"\[([^\]\n]*)(?:\]\([^)\s]*)?$")
_DANGLING_MARKER_RE = re.compile(r"(^|\s)[*_~`]+$")
_FENCE_LINE_RE = re.compile(r"^ {0,3}```", re.MULTILINE)


def _closers(text: str) -> str:
    """What closes the inline constructs `text` leaves open (`**`, `*`, `~~`, a code span),
    innermost first. Text inside an open code span does not count."""
    ticks = text.count("`")
    tick_at = text.rfind("`") if ticks % 2 else len(text)
    counted = text[:tick_at]
    opens: list[tuple[int, str]] = [(tick_at, "`")] if ticks % 2 else []
    strong = counted.count("**")
    if strong % 2:
        opens.append((counted.rfind("**"), "**"))
    single = re.sub(r"^\s*\* ", "", counted.replace("**", ""), flags=re.MULTILINE)
    if single.count("*") % 2:
        opens.append((counted.replace("**", "\0\0").rfind("*"), "*"))
    if counted.count("~~") % 2:
        opens.append((counted.rfind("~~"), "~~"))
    return "".join(closer for _, closer in sorted(opens, reverse=True))


def close_open_markdown(text: str) -> str:
    """`text` (a reply still streaming) with its open constructs closed, so that it renders as
    it will look once finished: an open code fence or `$$` block gets its end, an open
    `**`, `*`, `~~` or code span its closer, a half-typed link shows its text and a lone
    marker at the very end (`**` with nothing after it yet) is left out."""
    fences = list(_FENCE_LINE_RE.finditer(text))
    if len(fences) % 2:  # inside a code block: nothing inline to close
        return text + ("```" if text.endswith("\n") else "\n```")
    prose = text[fences[-1].end() :] if fences else text
    head = text[: len(text) - len(prose)]
    if prose.count("$$") % 2:
        return head + prose + "$$"
    prose = _OPEN_LINK_RE.sub(lambda m: m[1], prose)
    prose = _DANGLING_MARKER_RE.sub(lambda m: m[1], prose)
    return head + prose + _closers(prose)


def render_partial(text: str) -> str:
    """The HTML of a reply's unfinished tail, rendered as if it were complete (never cached:
    it changes with every burst). Blocking: short tails only, see `components.chat_message`."""
    text = _STRIPPED_INPUT_RE.sub("", text or "")
    if not text.strip():
        return ""
    return _convert(close_open_markdown(text))


def _render_markdown(text: str) -> str:
    """Markdown (user or model text) as sanitized, inert HTML (cached: history re-renders)."""
    text = _STRIPPED_INPUT_RE.sub("", text or "")
    if not text.strip():
        return ""
    return _convert(text)


# Bounded in characters too (20-80 MB at most): one crafted message can render to ~400k.
render_markdown = RenderCache(_render_markdown, maxsize=512, max_chars=20_000_000)


@dataclass(frozen=True, slots=True)
class Source:
    """One numbered entry of a sources list."""

    number: int
    kind: str
    title: str
    url: str | None = None
    file_id: str | None = None


def _source_key(citation: dict) -> tuple:
    return (
        citation.get("kind"),
        citation.get("url") or citation.get("file_id") or citation.get("filename"),
        citation.get("container_id"),
    )


def _make_source(number: int, citation: dict) -> Source:
    kind = str(citation.get("kind") or "file")
    url = citation.get("url") or None
    if kind == "url":
        title = citation.get("title") or url or "Web page"
        if url is not None and (
            safe_link_url(url) is None or urlsplit(_normalized_url(url)).scheme not in LINK_SCHEMES
        ):
            url = None
        return Source(number, kind, str(title), url=url)
    title = citation.get("filename") or citation.get("title") or "File"
    stored = citation.get("stored_file_id")
    file_id = stored if isinstance(stored, str) and _FILE_ID_RE.match(stored) else None
    return Source(number, kind, str(title), file_id=file_id)


def _sources_html(sources: list[Source]) -> str:
    items = []
    for source in sources:
        title = html.escape(source.title)
        if source.url:
            attrs = f'href="{html.escape(source.url)}" target="_blank" rel="{LINK_REL}"'
            body = f"<a {attrs}>{title}</a>"
        elif source.file_id:
            body = f'<a href="/files/{source.file_id}" target="_blank" rel="{LINK_REL}">{title}</a>'
        else:
            body = title
        items.append(f'<li value="{source.number}">{body}</li>')
    return '<ol class="citation-sources">' + "".join(items) + "</ol>"


def render_message(text: str, citations: list[dict] | None = None) -> str:
    """The HTML of one message body (with its citations), cached. Blocking: see the module."""
    return render_citations(text, citations)[0] if citations else render_markdown(text)


def _cache_entry(text: str, citations: list[dict] | None) -> tuple[RenderCache, tuple]:
    if citations:
        return _render_cited, (text, citations_key(citations))
    return render_markdown, (text,)


def cached_html(text: str, citations: list[dict] | None = None) -> str | None:
    """The message's HTML if it is in the cache, else None (never renders)."""
    cache, key = _cache_entry(text, citations)
    return cache.peek(*key)


def remember(text: str, citations: list[dict] | None, html: str) -> None:
    """Cache `html` rendered elsewhere (by `render_fresh`, in the worker process)."""
    cache, key = _cache_entry(text, citations)
    cache.put(key, html)


def render_fresh(text: str, citations: list[dict] | None = None) -> str:
    """`render_message` without the cache: what the worker process runs."""
    cache, key = _cache_entry(text, citations)
    return cache.__wrapped__(*key)


def render_if_cheap(text: str, citations: list[dict] | None = None) -> str | None:
    """The message's HTML when it is cached or short enough to render on the event loop.

    None means "render it in the worker" (`services.chat.render_worker`): a long text costs
    up to ~110 us per character when crafted, far too long to hold the event loop.
    """
    if len(text or "") <= INLINE_RENDER_CHARS:
        return render_message(text, citations)
    return cached_html(text, citations)


def warm_cache(messages: list[tuple[str, list[dict]]], budget_seconds: float = 1.5) -> int:
    """Render (text, citations) pairs into the cache in this thread, for `budget_seconds` at most.

    The in-process fallback of `render_worker.warm` (blocking: call through `run.io_bound`).
    Returns how many messages were rendered.
    """
    deadline = time.monotonic() + budget_seconds
    for done, (text, citations) in enumerate(messages):
        if time.monotonic() > deadline:
            return done
        render_message(text, citations)
    return len(messages)


def citations_key(citations: list[dict] | None) -> bytes:
    """The citations as a cache key (equal lists give equal keys)."""
    return orjson.dumps(citations, option=orjson.OPT_SORT_KEYS) if citations else b""


def _number_sources(citations: list[dict], length: int) -> tuple[list[Source], list[tuple]]:
    """The numbered sources and where their markers go: (position, number), sorted."""
    numbers: dict[tuple, int] = {}
    sources: list[Source] = []
    inserts: set[tuple[int, int]] = set()
    for citation in citations:
        key = _source_key(citation)
        if key not in numbers:
            numbers[key] = len(sources) + 1
            sources.append(_make_source(numbers[key], citation))
        end = citation.get("end")
        position = end if isinstance(end, int) and 0 <= end <= length else length
        inserts.add((position, numbers[key]))
    return sources, sorted(inserts)


def render_citations(text: str, citations: list[dict]) -> tuple[str, list[Source]]:
    """Render `text` with numbered markers [n] at each citation and a sources list after it.

    Citations are dicts like `services.llm.base.Citation` (kind, title, url, file_id,
    filename, start, end; optional `stored_file_id` links a file we keep). Markers go at `end`
    (or the end of the text); the same source cited twice keeps one number. Returns the HTML
    (body, then `<ol class="citation-sources">`, cached) and the sources in number order.
    """
    if not citations:
        return render_markdown(text), []
    clean = _STRIPPED_INPUT_RE.sub("", text or "")
    sources, _ = _number_sources(citations, len(clean))
    return _render_cited(text, citations_key(citations)), sources


def _render_cited_html(text: str, citations_json: bytes) -> str:
    text = _STRIPPED_INPUT_RE.sub("", text or "")
    sources, inserts = _number_sources(orjson.loads(citations_json), len(text))
    pieces, previous = [], 0
    for position, number in inserts:  # one pass: linear however many citations
        pieces.append(f"{text[previous:position]}{_MARK_OPEN}{number}{_MARK_CLOSE}")
        previous = position
    pieces.append(text[previous:])
    body = _convert("".join(pieces))
    body = _MARK_RE.sub(lambda m: f'<sup class="citation-ref">[{m[1]}]</sup>', body)
    return body + _sources_html(sources)


_render_cited = RenderCache(_render_cited_html, maxsize=256, max_chars=10_000_000)
