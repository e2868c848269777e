"""Who is acting: re-read from the database so disabling or demoting applies at once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.db import session_scope
from core.errors import AuthError, PermissionDenied
from models import Assistant, AssistantGroup, GroupMember, Role, User

ADMINS_ONLY = "Only administrators can do that."
SESSION_ENDED = "Your session has ended. Please sign in again."


def is_current(fresh: User | None, actor: User) -> bool:
    """True when `fresh` (the database row) still backs the session `actor` came from.

    A page holds the `User` its token was checked against, so `actor.token_version` is the
    version that token carries; a password change, "log out everywhere" or a reset bumps the
    row's version, and every older session then stops acting at once, open pages included.
    """
    return fresh is not None and fresh.is_active and fresh.token_version == actor.token_version


def active_actor(session: Session, actor: User) -> User:
    """The acting user as the database has it now; AuthError when deleted, disabled or revoked.

    Services call this instead of trusting the `User` a long-lived page captured when it was
    opened, so a disabled, demoted or signed-out account loses its rights on an open page at
    once, even when the page ignores the server's "go to sign-in" message.
    """
    fresh = session.get(User, actor.id) if actor.id is not None else None
    if not is_current(fresh, actor):
        raise AuthError(SESSION_ENDED)
    # The identity map holds rows weakly: keep this one, so a second check in the same
    # session (conversation, then assistant) is answered without another query.
    session.info.setdefault("actors", {})[fresh.id] = fresh
    return fresh


def require_admin(actor: User) -> User:
    """The acting user, re-read from the database; PermissionDenied unless an admin.

    Re-reading means a demotion, a disabled account or a revoked session takes effect at
    once (AuthError for the last two), even for a page opened while the user was an admin.
    """
    with session_scope() as session:
        fresh = session.get(User, actor.id) if actor.id is not None else None
    if not is_current(fresh, actor):
        raise AuthError(SESSION_ENDED)
    if fresh.role != Role.admin:
        raise PermissionDenied(ADMINS_ONLY)
    return fresh


def other_active_admins(session: Session, user_id: int) -> int:
    """How many active admins exist besides `user_id` (guards the last admin)."""
    return session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, User.is_active, User.id != user_id)
    ).one()


def assistant_visible_to(user: User) -> sa.ColumnElement[bool]:
    """The SQL condition for the assistants `user` sees in lists: their own, and the shared ones
    not limited to groups or limited to a group `user` is in (admins: every shared one).

    The one place that decides who sees a shared assistant; `can_use_assistant` asks it too.
    """
    shared = Assistant.shared.is_(True)
    if user.role == Role.admin:
        return sa.or_(Assistant.owner_id == user.id, shared)
    limited = sa.exists().where(AssistantGroup.assistant_id == Assistant.id)
    mine = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    in_my_groups = sa.exists().where(
        AssistantGroup.assistant_id == Assistant.id, AssistantGroup.group_id.in_(mine)
    )
    return sa.or_(Assistant.owner_id == user.id, sa.and_(shared, sa.or_(~limited, in_my_groups)))


def can_use_assistant(session: Session, user: User, assistant: Assistant | None) -> bool:
    """True when `user` may see and chat with `assistant` (admins may open any)."""
    if assistant is None:
        return False
    if user.role == Role.admin or assistant.owner_id == user.id:
        return True
    if not assistant.shared:
        return False
    query = select(Assistant.id).where(Assistant.id == assistant.id, assistant_visible_to(user))
    return session.exec(query).first() is not None
