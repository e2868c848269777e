"""The audit log page: admins only, filters and an error for a bad date."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from core.errors import AuthError
from services.accounts import admin
from services.accounts.users import authenticate
from tests.factories import make_user
from tests.ui.helpers import signed_up
from tests.ui.test_admin import wait_until
from tests.ui.test_dashboard import account


async def test_admin_filters_the_audit_log_and_members_are_kept_out(user: User) -> None:
    await signed_up(user, "alice")  # the first account: admin
    bob = make_user("bob")
    admin.set_budget(account("alice"), bob.id, "5")
    with pytest.raises(AuthError):
        authenticate("bob", "not-his-password", "10.1.2.3")
    await user.open("/admin")
    await user.should_see("Audit log", retries=30)
    await user.open("/admin/audit")
    await user.should_see("Audit log", retries=30)
    await user.should_see("events", retries=30)
    table = user.find(kind=ui.table).elements.pop()
    assert {"signin.failed", "admin.set_budget"} <= {row["action"] for row in table.rows}
    user.find("Who").type("bob")
    user.find(kind=ui.button, content="Apply filters").click()
    await wait_until(lambda: {row["actor"] for row in table.rows} == {"bob"})
    assert [(row["action"], row["address"]) for row in table.rows] == [
        ("signin.failed", "10.1.2.3")
    ]
    user.find("From (YYYY-MM-DD)").type("not-a-date")
    user.find(kind=ui.button, content="Apply filters").click()
    await user.should_see("Enter a date as YYYY-MM-DD.", retries=30)


async def test_members_get_not_found(user: User) -> None:
    make_user("root")
    await signed_up(user, "bob")
    await user.open("/admin/audit")
    await user.should_see("Page not found", retries=30)
    await user.open("/admin/groups")
    await user.should_see("Page not found", retries=30)
