"""Role checks shared by the admin and usage services."""

from __future__ import annotations

from sqlmodel import Session, func, select

from app.db import session_scope
from models import Role, User
from services.errors import PermissionDenied

ADMINS_ONLY = "Only administrators can do that."


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
