"""Who is acting: re-read from the database so disabling or demoting applies at once."""

from __future__ import annotations

from sqlmodel import Session, func, select

from core.db import session_scope
from core.errors import AuthError, PermissionDenied
from models import Role, User

ADMINS_ONLY = "Only administrators can do that."
SESSION_ENDED = "Your session has ended. Please sign in again."


def active_actor(session: Session, actor: User) -> User:
    """The acting user as the database has it now; AuthError when deleted or disabled.

    Services call this instead of trusting the `User` a long-lived page captured when it was
    opened, so a disabled or demoted account loses its rights on an open page at once.
    """
    fresh = session.get(User, actor.id) if actor.id is not None else None
    if fresh is None or not fresh.is_active:
        raise AuthError(SESSION_ENDED)
    return fresh


def require_admin(actor: User) -> User:
    """The acting user, re-read from the database; PermissionDenied unless an active admin.

    Re-reading means a demotion or a disabled account takes effect at once, even for a page
    that was opened while the user was still an admin.
    """
    with session_scope() as session:
        fresh = session.get(User, actor.id) if actor.id is not None else None
    if fresh is None or not fresh.is_active or fresh.role != Role.admin:
        raise PermissionDenied(ADMINS_ONLY)
    return fresh


def other_active_admins(session: Session, user_id: int) -> int:
    """How many active admins exist besides `user_id` (guards the last admin)."""
    return session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, User.is_active, User.id != user_id)
    ).one()
