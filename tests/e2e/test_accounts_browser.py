"""Register, sign in, see the dashboard and log out in real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AppServer, save_screenshot

pytestmark = pytest.mark.browser


def test_register_sign_in_dashboard_log_out(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/")
    expect(page).to_have_url(f"{app_server.url}/login")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill("password123")
    page.get_by_label("Confirm password").fill("password124")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("The passwords do not match.")).to_be_visible()

    page.get_by_label("Confirm password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome, alice")).to_be_visible()
    expect(page.get_by_text("Demo mode")).to_be_visible()
    save_screenshot(page, "dashboard-welcome.png")

    page.get_by_role("button", name="User menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{app_server.url}/login")

    page.goto(f"{app_server.url}/")
    expect(page).to_have_url(f"{app_server.url}/login")

    page.get_by_label("Username").fill("ALICE")
    page.get_by_label("Password", exact=True).fill("password123")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Welcome, alice")).to_be_visible()


def test_unknown_page_and_security_headers(app_server: AppServer, page: Page) -> None:
    response = page.goto(f"{app_server.url}/login")
    assert response is not None
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "img-src 'self' data:" in csp
    for directive in ("script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in csp
    assert "httponly" in (headers.get("set-cookie") or "httponly").lower()
