"""Links between accounts and identities at an OpenID Connect provider."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import timestamp_field


class OidcIdentity(SQLModel, table=True):
    """The provider's stable subject (`iss` + `sub`) an account signs in as."""

    __tablename__ = "oidc_identity"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_oidc_issuer_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    created_at: datetime = timestamp_field()
    last_signin_at: datetime = timestamp_field()
