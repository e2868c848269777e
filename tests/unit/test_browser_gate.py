"""Browser tests skip without Chromium on a newcomer's machine and fail under REQUIRE_BROWSER=1."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests.e2e import conftest as e2e


def test_missing_chromium_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e2e, "CHROMIUM", "/nowhere/chromium")
    monkeypatch.delenv("REQUIRE_BROWSER", raising=False)
    with pytest.raises(Skipped, match="Chromium not found at /nowhere/chromium"):
        e2e.require_chromium()


def test_missing_chromium_fails_when_browsers_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(e2e, "CHROMIUM", "/nowhere/chromium")
    monkeypatch.setenv("REQUIRE_BROWSER", "1")
    with pytest.raises(Failed, match="REQUIRE_BROWSER=1"):
        e2e.require_chromium()


def test_present_chromium_lets_the_test_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e2e, "CHROMIUM", __file__)  # any existing file stands in
    monkeypatch.setenv("REQUIRE_BROWSER", "1")
    e2e.require_chromium()
