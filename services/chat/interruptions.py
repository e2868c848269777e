"""Replies cut short by an instance's end: closed by the survivors, or saved on SIGTERM.

Each streaming reply row names its instance (`instance_id`). An instance that stopped
beating (SIGKILL, crash, lost machine) cannot save its replies, so every surviving instance
sweeps on each heartbeat: replies whose instance is silent for longer than
INSTANCE_HEARTBEAT_TIMEOUT_SECONDS become `failed` with INTERRUPTED_ERROR, keeping the text
of the last checkpoint (saved every few seconds), with Retry; their reservations are
released. A starting instance closes nobody's live replies: only silent instances' ones.

On SIGTERM (`drain`) the instance saves its own: every running reply is cancelled as
interrupted, and the normal final save keeps its text and settles its reservation with what
the provider billed (or the estimate of what it produced).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from models import ConversationMessage, Instance, MessageStatus, utcnow
from services.chat import generation
from services.llm.base import ErrorCategory, ReplyError
from services.runtime import liveness
from services.usage import reservations

log = logging.getLogger(__name__)

INTERRUPTED_ERROR = (
    "This reply was interrupted: the server writing it stopped. The text received so far is "
    "kept; you can retry."
)


def interrupted_error() -> ReplyError:
    """The error a reply is saved with when its instance shuts down under it."""
    return ReplyError(ErrorCategory.stream_broken, INTERRUPTED_ERROR)


def close_interrupted_replies() -> int:
    """Close the streaming replies of instances that stopped beating; returns how many.

    Rows from before instance ids (NULL) count as orphaned too. This instance's own replies
    are never touched here. Dead instances' rows are removed in the same transaction, and
    the rows are locked first, so two survivors sweeping at once close each reply once.
    """
    timeout = timedelta(seconds=get_settings().instance_heartbeat_timeout_seconds)
    with session_scope() as session:
        alive = select(Instance.id).where(Instance.beat_at >= utcnow() - timeout)
        orphaned = [
            row
            for row in session.exec(
                select(ConversationMessage.id)
                .where(
                    ConversationMessage.status == MessageStatus.streaming,
                    sa.or_(
                        ConversationMessage.instance_id.is_(None),
                        sa.and_(
                            ConversationMessage.instance_id != liveness.INSTANCE_ID,
                            ConversationMessage.instance_id.not_in(alive),
                        ),
                    ),
                )
                .with_for_update()
            ).all()
        ]
        session.execute(
            sa.delete(Instance).where(
                Instance.id != liveness.INSTANCE_ID, Instance.beat_at < utcnow() - timeout
            )
        )
        if not orphaned:
            return 0
        chosen = select(ConversationMessage.id).where(ConversationMessage.id.in_(orphaned))
        reservations.release_for_messages(session, chosen)
        session.execute(
            sa.update(ConversationMessage)
            .where(
                ConversationMessage.id.in_(orphaned),
                ConversationMessage.status == MessageStatus.streaming,
            )
            .values(
                status=MessageStatus.failed,
                error=INTERRUPTED_ERROR,
                error_category=ErrorCategory.stream_broken.value,
                updated_at=utcnow(),
            )
        )
    log.warning("Closed %d reply(ies) of a stopped instance as interrupted", len(orphaned))
    return len(orphaned)


async def drain(grace_seconds: float) -> int:
    """Stop taking turns, save every running reply as interrupted, wait (at most
    `grace_seconds`) until they are saved; returns how many were still unsaved then."""
    liveness.start_draining()
    running = [g for g in generation.running() if g.task is not None and not g.task.done()]
    for live in running:
        live.interrupted = True
        live.cancel_task()
    if running:
        log.warning("Shutting down: saving %d live reply(ies)", len(running))
        _, pending = await asyncio.wait({g.task for g in running}, timeout=grace_seconds)
        if pending:
            log.error("Shutting down: %d reply(ies) not saved in time", len(pending))
        return len(pending)
    return 0
