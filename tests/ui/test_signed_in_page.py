"""`signed_in_page`: the one opening of every signed-in page (session check, then the shell)."""

from __future__ import annotations

import inspect

from nicegui import Client
from nicegui.testing import User
from sqlmodel import select

from core.db import session_scope
from models import User as Account
from services.accounts.users import revoke_sessions
from tests.ui.helpers import signed_up


async def test_pages_take_the_user_and_expose_only_their_route_parameters(user: User) -> None:
    await user.open("/login")  # starts the app, which registers the pages
    registered = {path: page for page, path in Client.page_routes.items()}
    routes = {
        "/": [],
        "/profile": [],
        "/admin": [],
        "/assistants": [],
        "/assistants/new": [],
        "/assistants/{assistant_id}": ["assistant_id"],
        "/chat": [],
        "/chat/new": ["assistant", "temporary"],
        "/chat/{conversation_id}": ["conversation_id", "continued"],
    }
    for path, parameters in routes.items():
        page = registered[path]
        assert list(inspect.signature(page).parameters) == parameters, path
        assert list(inspect.signature(page.__wrapped__).parameters)[0] == "user", path


async def test_a_revoked_session_goes_to_sign_in_and_comes_back(user: User) -> None:
    await signed_up(user, "alice")
    # The token in this browser is still signed and unexpired (the middleware lets it by);
    # the page's own check against the database refuses it.
    with session_scope() as session:
        alice = session.exec(select(Account).where(Account.username == "alice")).one()
    revoke_sessions(alice.id)
    await user.open("/assistants?sort=name")
    await user.should_see("Welcome back", retries=20)
    assert user.back_history[-1] == "/login?next=/assistants%3Fsort%3Dname"
    await user.should_not_see("New assistant")
