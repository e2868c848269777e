"""axe-core (the npm package in tests/e2e/node/) injected into a Playwright page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def require_axe() -> Path:
    """The axe-core script; skip without it, fail under REQUIRE_BROWSER=1 (CI installs it)."""
    if AXE_JS.exists():
        return AXE_JS
    reason = (
        f"axe-core not found at {AXE_JS}: run `npm ci` in tests/e2e/node "
        "(.ci/run does; REQUIRE_BROWSER=1 makes this a failure)"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now, one line per node."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(require_axe()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['impact']} {v['id']}: {node['target']} {node['html'][:160]} "
        f"{node.get('failureSummary', '')[:300]}"
        for v in result
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]
