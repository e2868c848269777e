"""Which rows a reservation locks on MariaDB: a shared assistant's only when it has a budget.

Every user's send of one shared assistant used to lock that assistant's row, so sends of
different users queued one behind the other (docs/performance.md, "Scale-out"). Its row is
locked only when its own budget is read under the lock.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from core.db import session_scope
from core.errors import Unavailable
from models import Assistant, SpendKind, User
from services.usage import reservations
from tests.factories import add_assistant, make_user

pytestmark = pytest.mark.mariadb


@pytest.fixture
def mariadb_database(database: str) -> None:
    if database != "mariadb":
        pytest.skip("row locks: SQLite has one writer at a time")


def _reserve(user: User, assistant_id: int) -> float:
    """Reserve for `user` in a transaction of its own; the seconds it took."""
    started = time.monotonic()
    with session_scope() as session:
        session.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 1"))
        assistant = session.get(Assistant, assistant_id)
        reservations.reserve(session, user, assistant, None, 100, SpendKind.reply, "gpt-4.1-mini")
    return time.monotonic() - started


def _reserve_while_another_holds(budget_micros: int | None) -> tuple[float, bool]:
    """Bob reserves while Alice's reservation on the same shared assistant is uncommitted:
    how long he waited, and whether he had to give up (lock wait timeout, 1 s)."""
    alice, bob = make_user("alice"), make_user("bob")
    assistant_id = add_assistant(alice, shared=True, monthly_budget_micros=budget_micros).id
    with session_scope() as session, ThreadPoolExecutor(1) as pool:
        assistant = session.get(Assistant, assistant_id)
        reservations.reserve(session, alice, assistant, None, 100, SpendKind.reply, "gpt-4.1-mini")
        started = time.monotonic()
        try:
            return pool.submit(_reserve, bob, assistant_id).result(timeout=30), False
        except Unavailable:  # MariaDB 1205, lock wait timeout exceeded, as the app reports it
            return time.monotonic() - started, True


def test_an_unbudgeted_shared_assistant_does_not_serialise_its_users(mariadb_database) -> None:
    seconds, gave_up = _reserve_while_another_holds(None)
    assert not gave_up and seconds < 0.9


def test_a_budgeted_assistant_is_still_locked_for_its_budget_check(mariadb_database) -> None:
    seconds, gave_up = _reserve_while_another_holds(1_000_000)
    assert gave_up and seconds >= 0.9
