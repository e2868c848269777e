"""The app instances (processes) serving this deployment, and when each last beat."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class Instance(SQLModel, table=True):
    """One running instance: its random id and its last heartbeat (UTC).

    A reply row carries the id of the instance writing it (`ConversationMessage.instance_id`);
    when that instance's heartbeat is older than INSTANCE_HEARTBEAT_TIMEOUT_SECONDS, the
    survivors close the reply as interrupted.
    """

    id: str = Field(primary_key=True, max_length=36)
    hostname: str = Field(default="", max_length=255)
    started_at: datetime = timestamp_field()
    beat_at: datetime = timestamp_field()
