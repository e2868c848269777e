"""The groups admin page in Chromium: create a group, add a member, set budget and models."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from core.db import session_scope
from models import Group, GroupMember
from tests.e2e.conftest import save_screenshot, sign_up
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_admin_manages_a_group(start_app, page: Page) -> None:
    server = start_app(DATABASE_URL=os.environ["DATABASE_URL"])
    sign_up(page, server.url, "root")  # the first account: admin
    bob = make_user("bob")
    page.goto(f"{server.url}/admin")
    page.get_by_role("link", name="Groups").click()
    page.get_by_role("textbox", name="New group name", exact=True).fill("engineering")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_text("Group created")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Add member to engineering", exact=True).fill("nobody")
    page.get_by_role("button", name="Add: Add member to engineering").click()
    expect(page.get_by_text("No account has that username.")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Add member to engineering", exact=True).fill("bob")
    page.get_by_role("button", name="Add: Add member to engineering").click()
    expect(page.get_by_label("bob in engineering")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Monthly budget of engineering (USD)", exact=True).fill(
        "12.50"
    )
    page.get_by_role("button", name="Save budget: Monthly budget of engineering (USD)").click()
    expect(page.get_by_text("budget $12.50")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Allowed models for engineering", exact=True).fill(
        "gpt-4o-mini, gpt-5-mini"
    )
    page.get_by_role("button", name="Save models: Allowed models for engineering").click()
    expect(page.get_by_text("Models saved")).to_be_visible(timeout=30_000)
    with session_scope() as session:
        group = session.exec(select(Group).where(Group.name == "engineering")).one()
        members = session.exec(select(GroupMember).where(GroupMember.group_id == group.id)).all()
    assert group.monthly_budget_micros == 12_500_000
    assert group.allowed_models == ["gpt-4o-mini", "gpt-5-mini"]
    assert [m.user_id for m in members] == [bob.id]
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(page.get_by_label("bob in engineering")).to_be_visible(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(page, "admin-groups.png")
