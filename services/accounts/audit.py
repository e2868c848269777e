"""The audit trail: security-relevant events on the `audit` logger, one line each.

Every line names the event, the acting user (id and name when known), the client address and
the UTC time, as `key=value` pairs an operator can grep or ship to a log store. Never pass
secrets (passwords, tokens, reset links): only names, ids and outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from models import User

log = logging.getLogger("audit")

# Services do not see requests; the app tells where the current one comes from.
_address_source: Callable[[], str] = lambda: ""  # noqa: E731


def set_address_source(source: Callable[[], str]) -> None:
    """Where `record` finds the client address when not given (set once by app wiring)."""
    global _address_source
    _address_source = source


def _quoted(value: object) -> str:
    text = str(value)
    # Values come from users (a username typed at sign-in): no line breaks, no spaces
    # that would fake extra fields.
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{text}"' if not text or any(c in text for c in ' ="') else text


def record(
    event: str,
    user: User | int | str | None = None,
    address: str = "",
    level: int = logging.INFO,
    **details: object,
) -> None:
    """Log one audit event (e.g. `signin.failed`) with who, from where, when and details."""
    if isinstance(user, User):
        who = {"user_id": user.id, "user": user.username}
    elif isinstance(user, int):
        who = {"user_id": user}
    else:
        who = {"user": user or "-"}
    fields = {
        "event": event,
        **who,
        "address": address or _current_address() or "-",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }
    log.log(level, " ".join(f"{key}={_quoted(value)}" for key, value in fields.items()))


def _current_address() -> str:
    try:
        return _address_source()
    except Exception:  # an audit line must never break the action it records
        return ""
