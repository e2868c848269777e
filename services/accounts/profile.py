"""The signed-in user's own account: username, email, password, theme, deletion.

Blocking: run off the event loop. Each function acts on the acting user only.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, select

from core.config import get_settings
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from models import (
    Assistant,
    Conversation,
    ConversationMessage,
    PasswordResetToken,
    Prompt,
    Role,
    ShareLink,
    StoredFile,
    User,
    utcnow,
)
from services.accounts.permissions import active_actor, other_active_admins
from services.accounts.security import hash_password, verify_password
from services.accounts.users import (
    session_token,
    validate_email,
    validate_new_password,
    validate_username,
)
from services.chat import generation
from services.files.paths import discard_bytes
from services.files.upstream import UpstreamObjects, purge_upstream
from services.usage.ledger import anonymize_user

log = logging.getLogger(__name__)

LAST_ADMIN = "You are the last administrator. Make someone else an administrator first."


def change_username(user: User, username: str) -> User:
    """Rename the account (usernames are unique, case-insensitively)."""
    name = validate_username(username)
    with session_scope() as session:
        fresh = active_actor(session, user)
        taken = session.exec(select(User.id).where(User.username == name, User.id != fresh.id))
        if taken.first() is not None:
            raise ValidationError("That username is taken.", "username")
        fresh.username = name
        fresh.updated_at = utcnow()
        session.add(fresh)
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:
            raise ValidationError("That username is taken.", "username") from exc
        return fresh


def change_email(user: User, email: str | None) -> User:
    """Set or clear the email address (used for password reset links)."""
    mail = validate_email(email)
    with session_scope() as session:
        fresh = active_actor(session, user)
        fresh.email = mail
        fresh.updated_at = utcnow()
        session.add(fresh)
        return fresh


def change_password(user: User, current: str, new: str, confirm: str | None = None) -> str:
    """Change the password; every other session ends. Returns a fresh token for this one.

    The caller's `user` is moved to the new token version, so the page that changed the
    password keeps acting while every other open page of this account is refused.
    """
    validate_new_password(new, confirm)
    rounds = get_settings().bcrypt_rounds
    with session_scope() as session:
        fresh = active_actor(session, user)
        ok, _ = verify_password(current, fresh.password_hash, rounds)
        if not ok:
            raise ValidationError("Your current password is not correct.", "current")
        fresh.password_hash = hash_password(new, rounds)
        fresh.token_version += 1
        fresh.updated_at = utcnow()
        session.add(fresh)
    user.token_version = fresh.token_version
    return session_token(fresh)


def _upstream_objects(session: Session, user_id: int, assistant_ids: list[int]) -> UpstreamObjects:
    files = session.exec(
        select(StoredFile.provider_file_id).where(
            StoredFile.owner_id == user_id, StoredFile.provider_file_id.is_not(None)
        )
    ).all()
    stores = session.exec(
        select(Assistant.vector_store_id).where(
            Assistant.id.in_(assistant_ids), Assistant.vector_store_id.is_not(None)
        )
    ).all()
    conversation_stores = session.exec(
        select(Conversation.vector_store_id).where(
            Conversation.owner_id == user_id, Conversation.vector_store_id.is_not(None)
        )
    ).all()
    return UpstreamObjects(list(files), list(stores) + list(conversation_stores))


def delete_account(user: User, password: str) -> None:
    """Delete the account with its conversations, assistants, files and sessions.

    The user confirms with their password (an open page left unattended is not enough), and
    the replies still being generated for them are stopped first. The last active admin
    cannot delete themselves. Conversations of teammates with this user's shared assistants
    are kept, marked as with a deleted assistant. Provider copies are deleted best effort.
    The account's spend stays in the ledger (the team's totals do not shrink), anonymized.
    """
    rounds = get_settings().bcrypt_rounds
    with session_scope() as session:
        fresh = _deletable(session, user)
        if not verify_password(password, fresh.password_hash, rounds)[0]:
            raise ValidationError("Your password is not correct.", "confirm")
    generation.cancel_owner(fresh.id)  # no reply keeps streaming (and billing) for it
    with session_scope() as session:
        fresh = _deletable(session, user)  # checked again in the deleting transaction
        assistant_ids = list(
            session.exec(select(Assistant.id).where(Assistant.owner_id == fresh.id))
        )
        upstream = _upstream_objects(session, fresh.id, assistant_ids)
        files = session.exec(select(StoredFile).where(StoredFile.owner_id == fresh.id)).all()
        _delete_rows(session, fresh.id, assistant_ids)
        anonymize_user(session, fresh.id)
    discard_bytes(files)
    purge_upstream(upstream, "account", best_effort=True)
    log.info("Account %s deleted", user.id)


def _deletable(session: Session, user: User) -> User:
    fresh = active_actor(session, user)
    if fresh.role == Role.admin and other_active_admins(session, fresh.id) == 0:
        raise PermissionDenied(LAST_ADMIN)
    return fresh


def _delete_rows(session: Session, user_id: int, assistant_ids: list[int]) -> None:
    owned = select(Conversation.id).where(Conversation.owner_id == user_id)
    session.exec(sa.delete(StoredFile).where(StoredFile.owner_id == user_id))
    # Teammates' files and conversations that point at this user's things lose the link only.
    session.exec(
        sa.update(StoredFile)
        .where(
            sa.or_(
                StoredFile.conversation_id.in_(owned), StoredFile.assistant_id.in_(assistant_ids)
            )
        )
        .values(conversation_id=None, assistant_id=None, message_id=None)
    )
    session.exec(
        sa.update(Conversation)
        .where(Conversation.assistant_id.in_(assistant_ids), Conversation.owner_id != user_id)
        .values(assistant_id=None)
    )
    session.exec(
        sa.update(Conversation).where(Conversation.owner_id == user_id).values(parent_id=None)
    )
    session.exec(
        sa.delete(ConversationMessage).where(ConversationMessage.conversation_id.in_(owned))
    )
    session.exec(sa.delete(Conversation).where(Conversation.owner_id == user_id))
    session.exec(sa.delete(Assistant).where(Assistant.owner_id == user_id))
    session.exec(sa.delete(PasswordResetToken).where(PasswordResetToken.user_id == user_id))
    session.exec(sa.delete(ShareLink).where(ShareLink.owner_id == user_id))
    session.exec(sa.delete(Prompt).where(Prompt.owner_id == user_id))
    session.exec(sa.delete(User).where(User.id == user_id))
