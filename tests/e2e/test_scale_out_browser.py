"""Scale-out: two app processes sharing the database and Redis user storage."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, sign_up

pytestmark = pytest.mark.browser

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_a_session_started_on_one_container_works_on_another(
    start_app: Callable[..., AppServer], page: Page, tmp_path: Path
) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        # Part of the browser suite: required where browsers are (CI), skipped on a laptop.
        reason = f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"studio-test-{uuid.uuid4().hex[:8]}:"
    shared = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "NICEGUI_REDIS_URL": REDIS_URL,
        "NICEGUI_REDIS_KEY_PREFIX": prefix,
    }
    first = start_app(**shared)
    second = start_app(**shared)
    try:
        sign_up(page, first.url, "alice")

        # Same browser (cookies are per host, not per port), another process.
        page.goto(f"{second.url}/")
        expect(page.get_by_text("Welcome, alice")).to_be_visible()

        page.get_by_role("button", name="User menu").click()
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{second.url}/login")
        page.goto(f"{first.url}/")
        expect(page).to_have_url(f"{first.url}/login")  # the logout reached both
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
