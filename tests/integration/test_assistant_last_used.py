"""`note_use`: an assistant's last use is written after the send's commit, once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.db import session_scope
from models import Assistant, utcnow
from services.assistants.manage import LAST_USED_RESOLUTION, note_use
from tests.factories import add_assistant, make_user


def _last_used(assistant_id: int) -> datetime | None:
    with session_scope() as session:
        value = session.get(Assistant, assistant_id).last_used_at
    return value.replace(tzinfo=UTC) if value and not value.tzinfo else value


def _use(assistant_id: int, now: datetime) -> None:
    with session_scope() as session:
        note_use(session, session.get(Assistant, assistant_id), now)
        assert _last_used(assistant_id) != now  # not inside the caller's transaction


@pytest.fixture
def assistant_id(database: str) -> int:
    return add_assistant(make_user("owner")).id


def test_first_use_is_recorded_after_the_commit(assistant_id: int) -> None:
    now = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    _use(assistant_id, now)
    assert _last_used(assistant_id) == now


def test_a_recent_use_is_not_written_again(assistant_id: int) -> None:
    first = utcnow().replace(microsecond=0)
    _use(assistant_id, first)
    _use(assistant_id, first + LAST_USED_RESOLUTION / 2)
    assert _last_used(assistant_id) == first


def test_an_older_use_is_replaced(assistant_id: int) -> None:
    first = utcnow().replace(microsecond=0)
    _use(assistant_id, first)
    later = first + LAST_USED_RESOLUTION + timedelta(seconds=1)
    _use(assistant_id, later)
    assert _last_used(assistant_id) == later


def test_a_rolled_back_send_records_nothing(assistant_id: int) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        note_use(session, session.get(Assistant, assistant_id), utcnow())
        raise RuntimeError("refused")
    assert _last_used(assistant_id) is None
