"""`note_use`: an assistant's last use is written at most once per LAST_USED_RESOLUTION."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Assistant
from services.assistants.manage import LAST_USED_RESOLUTION, note_use

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_first_use_is_recorded() -> None:
    assistant = Assistant(name="A", owner_id=1)
    note_use(assistant, NOW)
    assert assistant.last_used_at == NOW


def test_a_recent_use_is_not_written_again() -> None:
    # MariaDB hands DATETIME back naive: it is UTC all the same.
    recent = (NOW - LAST_USED_RESOLUTION / 2).replace(tzinfo=None)
    assistant = Assistant(name="A", owner_id=1, last_used_at=recent)
    note_use(assistant, NOW)
    assert assistant.last_used_at == recent


def test_an_older_use_is_replaced() -> None:
    assistant = Assistant(name="A", owner_id=1, last_used_at=NOW - timedelta(minutes=5))
    note_use(assistant, NOW)
    assert assistant.last_used_at == NOW
