"""Markdown to safe HTML for chat messages, sanitized on the server.

Two layers: markdown2 in `safe_mode="escape"` shows raw HTML as text, then bleach keeps only an
allow-list of tags and attributes and our `_SafeLinksFilter` enforces the URL rules:

- links: only http(s), mailto, in-page `#` anchors and relative paths; every link opens in a new
  tab with `rel="noopener noreferrer"`;
- images: only our own files (`/files/<id>`) and `data:image/{png,jpeg,gif,webp};base64`; any other
  image (a remote URL a prompt-injected answer could use to leak data) becomes a link that is
  *not* loaded: `<a class="remote-image" data-remote-image ...>`;
- code blocks: `<pre class="code-block" data-copy-code>` (the chat page adds a copy button to
  every `pre[data-copy-code]`); Pygments token classes are kept for highlighting.

`render_markdown` is called on every streamed flush, so the Markdown converter and the bleach
Cleaner are built once per thread and reused, and finished texts are cached. Code is not
highlighted here (Pygments spans made sanitizing ~10x slower): `<code class="language-x">` is
the hook for client-side highlighting. Figures: `uv run python -m bench.render_markdown`.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import bleach
import markdown2
from bleach.html5lib_shim import Filter, convert_entities

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
# Class names markdown2/Pygments emit; anything else (say Tailwind's `fixed inset-0`) is dropped.
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
_STRIPPED_INPUT_RE = re.compile(f"[\\x00{_MARK_OPEN}{_MARK_CLOSE}]")
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


class _Renderers(threading.local):
    """One converter and one cleaner per thread (neither is safe to share across threads)."""

    def __init__(self) -> None:
        self.markdown = markdown2.Markdown(
            extras={
                "fenced-code-blocks": None,
                "highlightjs-lang": None,
                "tables": None,
                "strike": None,
            },
            safe_mode="escape",
        )
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


@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Markdown (user or model text) as sanitized, inert HTML (cached: history re-renders)."""
    text = _STRIPPED_INPUT_RE.sub("", text or "")
    if not text.strip():
        return ""
    return sanitize_html(_renderers.markdown.convert(text))


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


def warm_cache(messages: list[tuple[str, list[dict]]]) -> None:
    """Render (text, citations) pairs once so a page built on the event loop hits the cache.

    Blocking and CPU-bound (1-4 ms per 2 KB): call it through `run.io_bound` before drawing a
    long conversation, so opening it does not stall every other user.
    """
    for text, citations in messages:
        render_citations(text, citations)


def render_citations(text: str, citations: list[dict]) -> tuple[str, list[Source]]:
    """Render `text` with numbered markers [n] at each citation and a sources list after it.

    Citations are dicts like `services.llm.base.Citation` (kind, title, url, file_id,
    filename, start, end; optional `stored_file_id` links a file we keep). Markers go at `end`
    (or the end of the text); the same source cited twice keeps one number. Returns the HTML
    (body, then `<ol class="citation-sources">`) and the sources in number order.
    """
    text = _STRIPPED_INPUT_RE.sub("", text or "")
    if not citations:
        return render_markdown(text), []
    numbers: dict[tuple, int] = {}
    sources: list[Source] = []
    inserts: list[tuple[int, int]] = []
    for citation in citations:
        key = _source_key(citation)
        if key not in numbers:
            numbers[key] = len(sources) + 1
            sources.append(_make_source(numbers[key], citation))
        end = citation.get("end")
        position = end if isinstance(end, int) and 0 <= end <= len(text) else len(text)
        inserts.append((position, numbers[key]))
    marked = text
    seen: set[tuple[int, int]] = set()
    for position, number in sorted(inserts, reverse=True):
        if (position, number) not in seen:
            seen.add((position, number))
            marked = f"{marked[:position]}{_MARK_OPEN}{number}{_MARK_CLOSE}{marked[position:]}"
    body = sanitize_html(_renderers.markdown.convert(marked))
    body = _MARK_RE.sub(lambda m: f'<sup class="citation-ref">[{m[1]}]</sup>', body)
    return body + _sources_html(sources), sources
