"""Highlighted code blocks, LaTeX math and the streaming tail (issue 14), on the server."""

from __future__ import annotations

import pytest

from services.chat.code_highlight import theme_css
from services.chat.math_render import MAX_FORMULA_CHARS, math_html
from services.chat.rendering import MAX_FORMULAS, render_markdown, render_partial
from tests.unit.test_rendering import assert_inert, parse
from tests.xss_corpus import XSS_CORPUS

STATIC_CSS = "static/code_highlight.css"


def test_code_is_highlighted_with_a_language_label() -> None:
    html = render_markdown("```python\ndef f(x):\n    return '<b>'  # done\n```")
    assert '<span class="code-lang">Python</span>' in html
    assert '<span class="k">def</span>' in html  # keyword
    assert '<span class="nf">f</span>' in html  # function name
    assert '<span class="c1"># done</span>' in html  # comment
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert_inert(html)


@pytest.mark.parametrize("info", ["", "no-such-language", "<script>", "py{onload}"])
def test_unknown_languages_are_escaped_plain_code(info: str) -> None:
    html = render_markdown(f"```{info}\n<img src=x onerror=alert(1)>\n```")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html
    assert_inert(html)


def test_code_in_the_corpus_stays_inert() -> None:
    for name, payload in XSS_CORPUS.items():
        for language in ("html", "python", "js", ""):
            html = render_markdown(f"```{language}\n{payload}\n```\n\n`{payload}`")
            assert_inert(html), name


def test_theme_css_is_current_and_has_light_and_dark() -> None:
    css = theme_css()
    with open(STATIC_CSS, encoding="utf-8") as file:
        assert file.read() == css, "run: uv run python -m services.chat.code_highlight"
    assert ".code-block-wrap .k {" in css
    assert ".body--dark .code-block-wrap .k {" in css


def test_inline_and_display_math_become_mathml() -> None:
    html = render_markdown("Euler: $e^{i\\pi}+1=0$.\n\n$$\\frac{a}{b}$$\n\nInline $$x^2$$ here.")
    tags = [tag for tag, _ in parse(html).tags]
    assert tags.count("math") == 3
    assert "<mfrac>" in html and "<msup>" in html
    assert '<div class="math-display"><math display="block">' in html
    assert '<span class="math-display">' in html  # $$ in a line stays inside its <p>


def test_dollar_amounts_are_not_math() -> None:
    html = render_markdown("It costs $5 and $6, or $ 7 $.")
    assert "<math" not in html and "$5 and $6" in html


@pytest.mark.parametrize(
    "latex",
    [
        "\\text{<img src=x onerror=alert(1)>}",
        "\\href{javascript:alert(1)}{a}",
        "x</math><script>alert(1)</script>",
        "\\style{background:url(https://evil.example/x)}{a}",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    ],
)
def test_math_is_sanitized(latex: str) -> None:
    html = render_markdown(f"${latex}$\n\n$${latex}$$")
    assert_inert(html)
    for tag, attrs in parse(html).tags:
        assert tag not in ("img", "script", "style", "a", "table"), html
        assert not {"href", "style", "src"} & set(attrs), html


def test_broken_or_huge_formulas_show_their_source() -> None:
    deep = "{" * 1500
    assert 'class="math-source"' in math_html(deep, False)
    assert 'class="math-source"' in math_html("x" * (MAX_FORMULA_CHARS + 1), True)
    html = render_markdown(" ".join(f"$x_{i}$" for i in range(MAX_FORMULAS + 5)))
    assert html.count("<math") == MAX_FORMULAS
    assert html.count('class="math-source"') == 5


def test_placeholders_cannot_be_forged() -> None:
    html = render_markdown("a\ue0020\ue003b\n\n```\ncode\n```")
    assert html.startswith("<p>a0b</p>")  # the characters go, the digit stays text


@pytest.mark.parametrize(
    ("tail", "must_have"),
    [
        ("- item one\n- item t", "<li>item t</li>"),
        ("some *emphasis", "<em>emphasis</em>"),
        ("some **strong te", "<strong>strong te</strong>"),
        ("a `code sp", "<code>code sp</code>"),
        ("~~gone", "<s>gone</s>"),
        ("```python\nx = 1\n", '<span class="code-lang">Python</span>'),
        ("$$\\frac{a}{b}", "<mfrac>"),
        ("# Head", "<h1>Head</h1>"),
        ("see [the docs](https://exa", "see the docs"),
    ],
)
def test_partial_markdown_closes_open_constructs(tail: str, must_have: str) -> None:
    html = render_partial(tail)
    assert must_have in html, html
    assert_inert(html)


def test_partial_markdown_hides_a_dangling_marker() -> None:
    assert render_partial("text **") == "<p>text</p>\n"
    assert render_partial("- a\n- ").startswith("<ul>")
    assert "*" not in render_partial("one *two* three *")


def test_partial_markdown_matches_the_final_render_once_closed() -> None:
    for text in ("- *a* and **b**", "x `y` z", "```js\nlet a = 1;\n```", "$a^2$ and $$b$$"):
        assert render_partial(text) == render_markdown(text)
