"""Figures for the dashboard, computed in the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import func, select

from app.db import session_scope
from models import Assistant, Conversation


@dataclass(frozen=True)
class Counts:
    """How much a user has."""

    assistants: int
    conversations: int


def counts_for(user_id: int) -> Counts:
    """The user's own assistants and conversations."""
    with session_scope() as session:
        assistants = session.exec(
            select(func.count()).select_from(Assistant).where(Assistant.owner_id == user_id)
        ).one()
        conversations = session.exec(
            select(func.count()).select_from(Conversation).where(Conversation.owner_id == user_id)
        ).one()
    return Counts(assistants=assistants, conversations=conversations)
