"""Groups: admins create them, add members (or the SSO groups claim does), give a group a
monthly budget and a list of allowed models, and owners share assistants with chosen groups.

The budget is enforced by `services.usage.reservations` (via `budgets.applicable`), the model
list by `budgets.model_refusal`, visibility by `services.accounts.permissions`. Every change
is written to the audit log in its own transaction. Blocking: run off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, ValidationError
from models import (
    Assistant,
    AssistantGroup,
    Group,
    GroupMember,
    MembershipSource,
    Role,
    User,
    utcnow,
)
from services.accounts import audit
from services.accounts.permissions import active_actor, require_admin
from services.accounts.users import normalize_username
from services.usage import budgets
from services.usage.pricing import parse_usd

MAX_GROUP_NAME = 100
MAX_MODELS = 100


@dataclass(frozen=True)
class Member:
    """A member as the groups page lists them."""

    user_id: int
    username: str
    source: MembershipSource


@dataclass(frozen=True)
class GroupRow:
    """One group with its members and this month's spend."""

    id: int
    name: str
    budget_micros: int | None
    allowed_models: list[str]
    members: list[Member]
    month_spent_micros: int


def _clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise ValidationError("Enter a group name.", "name")
    if len(text) > MAX_GROUP_NAME:
        raise ValidationError(f"Use at most {MAX_GROUP_NAME} characters.", "name")
    return text


def _group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("This group does not exist.")
    return group


def list_groups(actor: User) -> list[GroupRow]:
    """Every group with members and month spend (admins only)."""
    require_admin(actor)
    with session_scope() as session:
        groups = session.exec(select(Group).order_by(Group.name)).all()
        members = session.exec(
            select(GroupMember.group_id, User.id, User.username, GroupMember.source)
            .join(User, User.id == GroupMember.user_id)
            .order_by(User.username)
        ).all()
        by_group: dict[int, list[Member]] = {}
        for group_id, user_id, username, source in members:
            by_group.setdefault(group_id, []).append(Member(user_id, username, source))
        return [
            GroupRow(
                id=group.id,
                name=group.name,
                budget_micros=group.monthly_budget_micros,
                allowed_models=list(group.allowed_models or []),
                members=by_group.get(group.id, []),
                month_spent_micros=budgets.spent_micros(
                    session, budgets.Budget("group", group.id, 0, "", "")
                ),
            )
            for group in groups
        ]


def create_group(actor: User, name: str) -> Group:
    """A new, empty group with no budget and every model allowed."""
    require_admin(actor)
    clean = _clean_name(name)
    try:
        with session_scope() as session:
            if session.exec(select(Group.id).where(Group.name == clean)).first() is not None:
                raise ValidationError("A group with that name exists.", "name")
            group = Group(name=clean)
            session.add(group)
            session.flush()
            audit.record(
                "group.created", actor, target=f"group:{group.id}", session=session, name=clean
            )
    except IntegrityError as exc:
        raise ValidationError("A group with that name exists.", "name") from exc
    return group


def delete_group(actor: User, group_id: int) -> None:
    """Remove a group (its memberships and assistant shares go with it)."""
    require_admin(actor)
    with session_scope() as session:
        group = _group(session, group_id)
        name = group.name
        session.execute(sa.delete(GroupMember).where(GroupMember.group_id == group_id))
        session.execute(sa.delete(AssistantGroup).where(AssistantGroup.group_id == group_id))
        session.delete(group)
    audit.record("group.deleted", actor, target=f"group:{group_id}", name=name)


def set_group_budget(actor: User, group_id: int, budget_usd: str | Decimal | None) -> Group:
    """A group's monthly budget in dollars; empty = none (only members' own budgets apply)."""
    require_admin(actor)
    micros = parse_usd(budget_usd, "budget")
    with session_scope() as session:
        group = _group(session, group_id)
        group.monthly_budget_micros = micros
        group.updated_at = utcnow()
        session.add(group)
    audit.record("group.set_budget", actor, target=f"group:{group_id}", budget_micros=micros)
    return group


def parse_models(text: str | list[str]) -> list[str]:
    """Model ids from a comma- or line-separated list (empty = every model)."""
    items = text if isinstance(text, list) else text.replace("\n", ",").split(",")
    models = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    if len(models) > MAX_MODELS or any(len(model) > 100 for model in models):
        raise ValidationError(f"List at most {MAX_MODELS} model ids.", "models")
    return models


def set_allowed_models(actor: User, group_id: int, models: str | list[str]) -> Group:
    """The models the group's members may use (empty: every model)."""
    require_admin(actor)
    allowed = parse_models(models)
    with session_scope() as session:
        group = _group(session, group_id)
        group.allowed_models = allowed
        group.updated_at = utcnow()
        session.add(group)
    audit.record("group.set_models", actor, target=f"group:{group_id}", models=allowed)
    return group


def add_member(actor: User, group_id: int, username: str) -> Member:
    """Add an account to a group by its username."""
    require_admin(actor)
    name = normalize_username(username)
    with session_scope() as session:
        _group(session, group_id)
        user = session.exec(select(User).where(User.username == name)).first()
        if user is None:
            raise ValidationError("No account has that username.", "username")
        existing = session.get(GroupMember, (group_id, user.id))
        if existing is None:
            session.add(GroupMember(group_id=group_id, user_id=user.id))
        else:  # an admin's choice outlives the next SSO sign-in
            existing.source = MembershipSource.manual
            session.add(existing)
    audit.record(
        "group.add_member", actor, target=f"group:{group_id}", target_user_id=user.id, username=name
    )
    return Member(user.id, user.username, MembershipSource.manual)


def remove_member(actor: User, group_id: int, user_id: int) -> None:
    """Take an account out of a group."""
    require_admin(actor)
    with session_scope() as session:
        _group(session, group_id)
        session.execute(
            sa.delete(GroupMember).where(
                GroupMember.group_id == group_id, GroupMember.user_id == user_id
            )
        )
    audit.record("group.remove_member", actor, target=f"group:{group_id}", member_id=user_id)


def sync_claimed_groups(session: Session, user: User, claimed: list[str]) -> list[str]:
    """Make the user's SSO memberships match the groups claim, in the caller's transaction.

    A claimed name joins the group of that name (only groups an admin created: a provider
    cannot invent groups here); SSO memberships no longer claimed are dropped; memberships an
    admin added by hand stay. Returns the names of the groups joined now.
    """
    names = {str(name).strip() for name in claimed if str(name).strip()}
    wanted = {
        group.id: group.name
        for group in session.exec(select(Group).where(Group.name.in_(names))).all()
    }
    current = {
        row.group_id: row
        for row in session.exec(select(GroupMember).where(GroupMember.user_id == user.id)).all()
    }
    joined = []
    for group_id, row in current.items():
        if row.source == MembershipSource.sso and group_id not in wanted:
            session.delete(row)
    for group_id, name in wanted.items():
        if group_id not in current:
            session.add(GroupMember(group_id=group_id, user_id=user.id, source="sso"))
            joined.append(name)
    return joined


def group_choices(actor: User) -> dict[int, str]:
    """The groups `actor` may share an assistant with: their own (admins: every group)."""
    with session_scope() as session:
        fresh = active_actor(session, actor)
        query = select(Group.id, Group.name).order_by(Group.name)
        if fresh.role != Role.admin:
            mine = select(GroupMember.group_id).where(GroupMember.user_id == fresh.id)
            query = query.where(Group.id.in_(mine))
        return dict(session.exec(query).all())


def shared_group_ids(session: Session, assistant_id: int) -> list[int]:
    """The groups an assistant is limited to (empty: the whole team when shared)."""
    query = select(AssistantGroup.group_id).where(AssistantGroup.assistant_id == assistant_id)
    return sorted(session.exec(query).all())


def set_shared_groups(
    session: Session, actor: User, assistant: Assistant, group_ids: list[int]
) -> None:
    """Limit a shared assistant to these groups (empty: the whole team), in the caller's
    transaction. A member may pick only groups they are in; an admin any group."""
    wanted = set(group_ids)
    if wanted:
        query = select(Group.id).where(Group.id.in_(wanted))
        if actor.role != Role.admin:
            mine = select(GroupMember.group_id).where(GroupMember.user_id == actor.id)
            query = query.where(Group.id.in_(mine))
        if set(session.exec(query).all()) != wanted:
            raise ValidationError("You can share only with groups you belong to.", "groups")
    session.execute(sa.delete(AssistantGroup).where(AssistantGroup.assistant_id == assistant.id))
    for group_id in sorted(wanted):
        session.add(AssistantGroup(assistant_id=assistant.id, group_id=group_id))
