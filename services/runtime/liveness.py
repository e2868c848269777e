"""This instance's identity, heartbeat and shutdown state.

Every instance has a random id and a row in `instance` whose `beat_at` it refreshes every
third of INSTANCE_HEARTBEAT_TIMEOUT_SECONDS. A reply row names the instance writing it, so the
survivors can tell a reply whose writer died (its heartbeat stopped) from one still being
written elsewhere (`services.chat.interruptions`). On SIGTERM the instance first stops taking
new turns (`check_accepting`), then saves its live replies and removes its row.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import datetime

import sqlalchemy as sa

from core.config import get_settings
from core.db import session_scope
from core.errors import Unavailable
from models import Instance, utcnow

log = logging.getLogger(__name__)

INSTANCE_ID = str(uuid.uuid4())
DRAINING = (
    "This server is restarting and takes no new messages. Reload the page in a moment and "
    "send again; nothing you typed is lost."
)

_draining = False


def interval_seconds() -> float:
    """How often this instance beats: a third of the timeout, so one missed beat is harmless."""
    return get_settings().instance_heartbeat_timeout_seconds / 3


def start_draining() -> None:
    """From now on refuse new turns (SIGTERM: the instance is going away)."""
    global _draining
    _draining = True


def draining() -> bool:
    """True once the instance stopped taking new turns."""
    return _draining


def check_accepting() -> None:
    """Raise `Unavailable` with a friendly sentence when the instance is shutting down."""
    if _draining:
        raise Unavailable(DRAINING)


def beat(now: datetime | None = None) -> None:
    """Record that this instance is alive (creates its row at start-up, or again after a
    survivor took it for dead and removed it). Blocking: call off the event loop."""
    now = now or utcnow()
    with session_scope() as session:
        updated = session.execute(
            sa.update(Instance).where(Instance.id == INSTANCE_ID).values(beat_at=now)
        ).rowcount
        if not updated:
            session.add(
                Instance(id=INSTANCE_ID, hostname=socket.gethostname(), started_at=now, beat_at=now)
            )


def forget() -> None:
    """Remove this instance's row (a clean exit: its replies are saved already)."""
    with session_scope() as session:
        session.execute(sa.delete(Instance).where(Instance.id == INSTANCE_ID))


def start_accepting() -> None:
    """Take turns (at start-up; a test app is started and stopped many times per process)."""
    global _draining
    _draining = False
