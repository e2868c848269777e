"""The rendered stored-XSS corpus is inert in real Chromium and loads nothing remote.

Independent of the app server: each payload goes through `render_markdown` and the page is
served by Playwright's router from a stand-in origin, with and without the app's real security
headers (so the sanitizer alone is tested, and then with the CSP as production sends it).
Requests for other origins are recorded (attempted, and those that reached the network) and
aborted. A control run with the *raw* payloads
proves the detectors (dialogs, `window.__xss`, remote requests) do fire.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from app.startup import SECURITY_HEADERS
from services.chat.rendering import render_citations, render_markdown
from tests.xss_corpus import EVIL_HOST, XSS_CORPUS

pytestmark = pytest.mark.browser

ORIGIN = "http://studio.test"
# Fire every inline-handler event we can without navigating; then report what the DOM holds.
PROBE = """() => {
  for (const el of document.querySelectorAll('#messages *')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'toggle', 'load', 'error']) {
      el.dispatchEvent(new Event(type));
    }
  }
  const handlers = [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name));
  return {
    xss: window.__xss ?? null,
    handlers,
    linkProtocols: [...document.querySelectorAll('#messages a[href]')].map(a => a.protocol),
    imageSources: [...document.querySelectorAll('#messages img')].map(img => img.src),
    frames: document.querySelectorAll('iframe, object, embed, frame').length,
    scripts: document.querySelectorAll('#messages script').length,
  };
}"""


def page_html(sections: dict[str, str]) -> str:
    body = "".join(
        f'<section data-case="{html.escape(name)}">{content}</section>'
        for name, content in sections.items()
    )
    return f'<!doctype html><html><head><meta charset="utf-8"><title>chat</title></head><body><div id="messages">{body}</div></body></html>'  # noqa: E501


class Harness:
    """Serves one page on ORIGIN and records dialogs and every other request."""

    def __init__(self, page: Page, document: str, with_csp: bool) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.attempted: list[str] = []  # every request the page tried for another origin
        self.reached_network: list[str] = []  # ... and the ones the browser actually sent
        headers = {"content-type": "text/html; charset=utf-8"}
        if with_csp:
            headers |= {name.lower(): value for name, value in SECURITY_HEADERS.items()}

        def route(route: Route) -> None:
            if route.request.url.startswith(ORIGIN):
                route.fulfill(status=200, headers=headers, body=document)
            else:
                self.reached_network.append(route.request.url)
                route.abort()

        page.on("dialog", self._dialog)
        page.on("request", self._request)
        page.route("**/*", route)

    def _dialog(self, dialog) -> None:  # noqa: ANN001
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request) -> None:  # noqa: ANN001
        if not request.url.startswith((ORIGIN, "data:")):
            self.attempted.append(request.url)

    def load(self) -> dict:
        self.page.goto(f"{ORIGIN}/chat", wait_until="load")
        self.page.wait_for_timeout(300)  # late image loads, error handlers, timers
        result = self.page.evaluate(PROBE)
        self.page.wait_for_timeout(100)
        return result


def rendered_corpus() -> dict[str, str]:
    sections = {name: render_markdown(text) for name, text in XSS_CORPUS.items()}
    citations = [
        {
            "kind": "url",
            "title": "<img src=x onerror=window.__xss=1>",
            "url": "javascript:alert(1)",
        },
        {"kind": "url", "title": "ok", "url": f"https://{EVIL_HOST}/cited"},
    ]
    sections["citations"], _ = render_citations("Cited text.", citations)
    return sections


@pytest.mark.parametrize("with_csp", [False, True], ids=["sanitizer-only", "with-app-csp"])
def test_rendered_corpus_is_inert_in_chromium(page: Page, with_csp: bool) -> None:
    harness = Harness(page, page_html(rendered_corpus()), with_csp)
    result = harness.load()
    assert harness.dialogs == []
    assert result["xss"] is None
    assert result["handlers"] == []
    assert result["frames"] == 0 and result["scripts"] == 0
    assert set(result["linkProtocols"]) <= {"http:", "https:", "mailto:"}
    assert all(
        urlsplit(src).netloc == "studio.test" or src.startswith("data:image/")
        for src in result["imageSources"]
    ), result["imageSources"]
    # Not even an attempt blocked by the CSP: in particular nothing for evil.example.
    assert harness.attempted == [] and harness.reached_network == []
    remote = page.locator('section[data-case="remote image"] a.remote-image')
    assert remote.get_attribute("href") == f"https://{EVIL_HOST}/leak?d=secret"
    assert remote.get_attribute("rel") == "noopener noreferrer"
    assert remote.inner_text() == "Remote image: x"


def test_detectors_fire_on_the_raw_payloads(browser: Browser) -> None:
    """Control: without rendering, the same harness sees the script run and the leak."""
    context = browser.new_context()
    try:
        page = context.new_page()
        raw = {
            "img onerror": XSS_CORPUS["img onerror"],
            "raw img remote": XSS_CORPUS["raw img remote"],
        }
        harness = Harness(page, page_html(raw), with_csp=False)
        result = harness.load()
        assert result["xss"] == 1
        assert harness.dialogs and set(harness.dialogs) == {"1"}
        assert any(urlsplit(url).netloc == EVIL_HOST for url in harness.reached_network)
    finally:
        context.close()


def test_app_csp_alone_blocks_remote_images(browser: Browser) -> None:
    """Second layer: with the app's CSP even a raw remote <img> is never requested."""
    context = browser.new_context()
    try:
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text))
        harness = Harness(page, page_html({"raw": XSS_CORPUS["raw img remote"]}), with_csp=True)
        harness.load()
        assert harness.attempted == [f"https://{EVIL_HOST}/leak-raw"]  # tried, and
        assert harness.reached_network == []  # blocked inside the browser
        assert any("Content Security Policy" in text for text in violations)
    finally:
        context.close()
