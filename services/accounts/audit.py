"""The audit trail: security-relevant events, kept in the `audit_event` table and logged.

Every event names the action, the acting user (id and name when known), the client address
and the UTC time. It is stored as a row (the admin page's audit log, with filters and CSV)
and written on the `audit` logger as `key=value` pairs an operator can grep or ship to a log
store. Never pass secrets (passwords, tokens, keys, reset links): only names, ids and
outcomes; details whose names say they hold one are replaced by "[redacted]" all the same.

`record` is the one function every service calls, e.g. for API keys and share links:
`audit.record("apikey.created", user, target=f"apikey:{key.id}", scope="chat")`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from core.config import get_settings
from core.db import session_scope
from models import AuditEvent, User

log = logging.getLogger("audit")

# Services do not see requests; the app tells where the current one comes from.
_address_source: Callable[[], str] = lambda: ""  # noqa: E731

SECRET_WORDS = ("password", "secret", "token", "code_verifier", "api_key", "link")
REDACTED = "[redacted]"


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


def _safe(details: dict[str, object]) -> dict[str, object]:
    """JSON-ready details, with anything whose name says it is a secret redacted."""
    safe: dict[str, object] = {}
    for key, value in details.items():
        if any(word in key.lower() for word in SECRET_WORDS):
            safe[key] = REDACTED
        elif value is None or isinstance(value, bool | int | float):
            safe[key] = value
        elif isinstance(value, list | tuple | set):
            safe[key] = [str(item)[:200] for item in value][:50]
        else:
            safe[key] = str(value)[:500]
    return safe


def record(
    event: str,
    user: User | int | str | None = None,
    address: str = "",
    level: int = logging.INFO,
    *,
    target: str = "",
    session: Session | None = None,
    **details: object,
) -> None:
    """Record one audit event (e.g. `signin.failed`): who, from where, when, on what, details.

    `target` names what was acted on (`user:5`, `group:2`, `apikey:9`; from `target_user_id`
    when not given). With `session` the row joins the caller's transaction (it commits or
    rolls back with the action); without, it is written at once in its own. A failure to
    store is logged and never breaks the action recorded.
    """
    if isinstance(user, User):
        actor_id, actor_name = user.id, user.username
        who: dict[str, object] = {"user_id": user.id, "user": user.username}
    elif isinstance(user, int):
        actor_id, actor_name = user, ""
        who = {"user_id": user}
    else:
        actor_id, actor_name = None, (user or "")[:64]
        who = {"user": user or "-"}
    address = address or _current_address()
    if not target and details.get("target_user_id") is not None:
        target = f"user:{details['target_user_id']}"
    safe = _safe(details)
    now = datetime.now(UTC)
    fields = {
        "event": event,
        **who,
        "address": address or "-",
        "time": now.isoformat(timespec="seconds"),
        **({"target": target} if target else {}),
        **safe,
    }
    log.log(level, " ".join(f"{key}={_quoted(value)}" for key, value in fields.items()))
    row = AuditEvent(
        created_at=now,
        action=event[:64],
        actor_id=actor_id,
        actor_name=actor_name,
        target=target[:128],
        address=address[:64],
        details=safe,
    )
    if session is not None:
        session.add(row)
        return
    try:
        with session_scope() as own:
            own.add(row)
    except Exception:  # the log line above still holds the event
        log.exception("Could not store the audit event %s", event)


def _current_address() -> str:
    try:
        return _address_source()
    except Exception:  # an audit line must never break the action it records
        return ""


def prune(now: datetime | None = None) -> int:
    """Delete events older than AUDIT_RETENTION_DAYS (0 keeps everything); returns how many."""
    days = get_settings().audit_retention_days
    if days <= 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with session_scope() as session:
        result = session.execute(sa.delete(AuditEvent).where(AuditEvent.created_at < cutoff))
        return result.rowcount or 0
