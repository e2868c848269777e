"""Team administration: users, roles, budgets, disabling, registration mode, reset links.

Blocking: run off the event loop. Every function re-reads the acting user and raises
PermissionDenied unless they are an active admin, so no page (or stale page) can bypass it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import AppSetting, Role, User, utcnow
from services.accounts import audit, password_reset
from services.accounts import users as accounts
from services.accounts.permissions import other_active_admins, require_admin
from services.accounts.users import REGISTRATION_MODE_KEY, RegistrationMode
from services.usage import spend as usage
from services.usage.pricing import parse_usd

LAST_ADMIN = "The team needs at least one active administrator."


@dataclass(frozen=True)
class UserRow:
    """One line of the users table."""

    id: int
    username: str
    email: str | None
    role: Role
    is_active: bool
    created_at: datetime
    last_active_at: datetime | None
    month_tokens: int
    month_cost_micros: int
    budget_micros: int | None
    uses_default_budget: bool
    max_concurrent_replies: int | None = None
    sends_per_minute: int | None = None


def list_users(actor: User) -> list[UserRow]:
    """Every account with this month's tokens and cost and its effective budget."""
    require_admin(actor)
    spend = usage.month_usage_per_user(actor)
    with session_scope() as session:
        users = session.exec(select(User).order_by(User.username)).all()
    return [
        UserRow(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            is_active=user.is_active,
            created_at=user.created_at,
            last_active_at=user.last_active_at,
            month_tokens=totals.tokens,
            month_cost_micros=totals.cost_micros,
            budget_micros=usage.user_budget_micros(user),
            uses_default_budget=user.monthly_budget_micros is None,
            max_concurrent_replies=user.max_concurrent_replies,
            sends_per_minute=user.sends_per_minute,
        )
        for user in users
        for totals in [spend.get(user.id, usage.Totals())]
    ]


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def _guard_last_admin(session: Session, user: User) -> None:
    if user.role == Role.admin and user.is_active and other_active_admins(session, user.id) == 0:
        raise PermissionDenied(LAST_ADMIN)


def set_role(actor: User, user_id: int, role: Role | str) -> User:
    """Make a user admin or member; open pages of that user reload with the new rights."""
    require_admin(actor)
    new_role = Role(role)
    with session_scope() as session:
        user = _target(session, user_id)
        if new_role != Role.admin:
            _guard_last_admin(session, user)
        user.role = new_role
        user.updated_at = utcnow()
        session.add(user)
    audit.record("admin.set_role", actor, target_user_id=user_id, role=new_role.value)
    return user


def set_budget(actor: User, user_id: int, budget_usd: str | float | Decimal | None) -> User:
    """Set a user's monthly budget in dollars; empty = the team default (or unlimited)."""
    require_admin(actor)
    micros = parse_usd(budget_usd, "budget")
    with session_scope() as session:
        user = _target(session, user_id)
        user.monthly_budget_micros = micros
        user.updated_at = utcnow()
        session.add(user)
    audit.record("admin.set_budget", actor, target_user_id=user_id, budget_micros=micros)
    return user


LIMIT_ERROR = "Enter a whole number from 1 to 1000, or leave it empty for the default."


def _limit(value: int | str | None, field: str) -> int | None:
    """A per-user limit from a form or code: empty means the setting's default."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not text.isdigit():
            raise ValidationError(LIMIT_ERROR, field)
        value = int(text)
    if value is not None and not 1 <= value <= 1000:
        raise ValidationError(LIMIT_ERROR, field)
    return value


def set_limits(
    actor: User,
    user_id: int,
    max_concurrent_replies: int | str | None,
    sends_per_minute: int | str | None,
) -> User:
    """Override MAX_CONCURRENT_REPLIES and SENDS_PER_MINUTE for one user (None or "": default)."""
    require_admin(actor)
    concurrent = _limit(max_concurrent_replies, "max_concurrent_replies")
    per_minute = _limit(sends_per_minute, "sends_per_minute")
    with session_scope() as session:
        user = _target(session, user_id)
        user.max_concurrent_replies = concurrent
        user.sends_per_minute = per_minute
        user.updated_at = utcnow()
        session.add(user)
    audit.record(
        "admin.set_limits",
        actor,
        target_user_id=user_id,
        max_concurrent_replies=concurrent,
        sends_per_minute=per_minute,
    )
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Enable or disable an account; disabling signs the user out everywhere at once."""
    require_admin(actor)
    with session_scope() as session:
        user = _target(session, user_id)
        if not active:
            _guard_last_admin(session, user)
            user.token_version += 1
        user.is_active = active
        user.updated_at = utcnow()
        session.add(user)
    audit.record("admin.enable" if active else "admin.disable", actor, target_user_id=user_id)
    return user


def registration_mode(actor: User) -> RegistrationMode:
    """Who may sign up now."""
    require_admin(actor)
    return accounts.registration_mode()


def set_registration_mode(actor: User, mode: RegistrationMode | str) -> RegistrationMode:
    """Open sign-up, invite-only (admins create accounts) or closed."""
    require_admin(actor)
    try:
        new_mode = RegistrationMode(mode)
    except ValueError as exc:
        raise ValidationError("Unknown registration mode.", "mode") from exc
    with session_scope() as session:
        row = session.get(AppSetting, REGISTRATION_MODE_KEY) or AppSetting(
            key=REGISTRATION_MODE_KEY
        )
        row.value = new_mode.value
        row.updated_at = utcnow()
        session.add(row)
    audit.record("admin.set_registration_mode", actor, mode=new_mode.value)
    return new_mode


def create_account(
    actor: User, username: str, password: str, email: str | None = None, role: Role = Role.member
) -> User:
    """Create an account for a teammate (any registration mode; invite-only relies on it)."""
    require_admin(actor)
    user = accounts.create_user(username, password, email=email)
    audit.record("admin.create_account", actor, target_user_id=user.id, username=user.username)
    if role != user.role:
        return set_role(actor, user.id, role)
    return user


def issue_reset_link(actor: User, user_id: int) -> str:
    """A single-use, one-hour password reset link for a user, to pass on by hand.

    Absolute under PUBLIC_URL, else the path alone (the admin page completes it with the
    address the admin's own browser uses).
    """
    require_admin(actor)
    with session_scope() as session:
        user = _target(session, user_id)
        if not user.is_active:
            raise ValidationError("Enable the account first.")
    audit.record("admin.issue_reset_link", actor, target_user_id=user_id)  # never the link
    return password_reset.reset_link(password_reset.create_token(user_id))
