"""The prompt library: my prompts and the team's, with `{{variables}}` filled in on use.

Everyone sees their own prompts and the team prompts; users manage their own, and only admins
create, change or delete team prompts. Another user's personal prompt is treated exactly like
a missing one (NotFound). Blocking: call through `run.io_bound`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from core.db import session_scope
from core.errors import NotFound, PermissionDenied, ValidationError
from models import Prompt, Role, User, utcnow
from services.accounts.permissions import active_actor

TITLE_MAX = 100
BODY_MAX = 8000
PER_USER_MAX = 200
TEAM_ADMINS_ONLY = "Only administrators can change team prompts."
# `{{ name }}`: letters, digits, spaces, `_` and `-`, up to 40 characters.
VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z0-9_][A-Za-z0-9_ -]{0,39}?)\s*\}\}")


@dataclass(frozen=True)
class PromptItem:
    """A prompt as the picker and the library page show it."""

    id: int
    title: str
    body: str
    team: bool
    variables: tuple[str, ...]
    editable: bool


def variables(body: str) -> list[str]:
    """The distinct variable names of a prompt body, in order of first use."""
    seen: dict[str, None] = {}
    for name in VARIABLE_RE.findall(body):
        seen.setdefault(" ".join(name.split()), None)
    return list(seen)


def fill(body: str, values: dict[str, str]) -> str:
    """`body` with each `{{name}}` replaced by its value (unknown names are left as typed)."""

    def replace(match: re.Match) -> str:
        name = " ".join(match[1].split())
        return values[name] if name in values else match[0]

    return VARIABLE_RE.sub(replace, body)


def _item(prompt: Prompt, actor: User) -> PromptItem:
    editable = actor.role == Role.admin if prompt.team else prompt.owner_id == actor.id
    return PromptItem(
        id=prompt.id,
        title=prompt.title,
        body=prompt.body,
        team=prompt.team,
        variables=tuple(variables(prompt.body)),
        editable=editable,
    )


def list_prompts(user: User, query: str = "") -> list[PromptItem]:
    """My prompts, then the team's, each by title; `query` filters titles (case-insensitive)."""
    with session_scope() as session:
        actor = active_actor(session, user)
        rows = session.exec(
            select(Prompt)
            .where(sa.or_(Prompt.team, Prompt.owner_id == actor.id))
            .order_by(Prompt.team, Prompt.title, Prompt.id)
        ).all()
        needle = query.strip().lower()
        return [_item(row, actor) for row in rows if needle in row.title.lower()]


def _clean(title: str, body: str) -> tuple[str, str]:
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not title:
        raise ValidationError("Enter a title.", "title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"Keep the title under {TITLE_MAX} characters.", "title")
    if not body:
        raise ValidationError("Enter the prompt text.", "body")
    if len(body) > BODY_MAX:
        raise ValidationError(f"Keep the prompt under {BODY_MAX:,} characters.", "body")
    return title, body


def _require_team_admin(actor: User) -> None:
    if actor.role != Role.admin:
        raise PermissionDenied(TEAM_ADMINS_ONLY)


def create_prompt(user: User, title: str, body: str, team: bool = False) -> PromptItem:
    """A new personal prompt, or (admins only) a team prompt."""
    title, body = _clean(title, body)
    with session_scope() as session:
        actor = active_actor(session, user)
        if team:
            _require_team_admin(actor)
        else:
            count = session.exec(
                select(sa.func.count())
                .select_from(Prompt)
                .where(Prompt.owner_id == actor.id, sa.not_(Prompt.team))
            ).one()
            if count >= PER_USER_MAX:
                raise ValidationError(f"You can keep up to {PER_USER_MAX} prompts.", "title")
        prompt = Prompt(owner_id=actor.id, team=team, title=title, body=body)
        session.add(prompt)
        session.flush()
        return _item(prompt, actor)


def _editable(session: Session, user: User, prompt_id: int) -> tuple[Prompt, User]:
    actor = active_actor(session, user)
    prompt = session.get(Prompt, prompt_id)
    if prompt is None or (not prompt.team and prompt.owner_id != actor.id):
        raise NotFound("Prompt not found")
    if prompt.team:
        _require_team_admin(actor)
    return prompt, actor


def update_prompt(user: User, prompt_id: int, title: str, body: str) -> PromptItem:
    """Change one of my prompts, or (admins only) a team prompt."""
    title, body = _clean(title, body)
    with session_scope() as session:
        prompt, actor = _editable(session, user, prompt_id)
        prompt.title, prompt.body, prompt.updated_at = title, body, utcnow()
        session.add(prompt)
        return _item(prompt, actor)


def delete_prompt(user: User, prompt_id: int) -> None:
    """Delete one of my prompts, or (admins only) a team prompt."""
    with session_scope() as session:
        prompt, _ = _editable(session, user, prompt_id)
        session.delete(prompt)
