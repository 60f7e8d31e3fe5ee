"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonType, UtcDateTime, new_id, utcnow


class Tenant(Base):
    """A customer organisation; every other row belongs to exactly one tenant."""

    __tablename__ = "tenant"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # Needed in clear to verify HMAC signatures, like any webhook signing secret.
    webhook_secret: Mapped[str] = mapped_column(String(100))
    # The tenant's own email domains: mail from them is outbound (no customer objections).
    email_domains: Mapped[list[str]] = mapped_column(
        JsonType, default=list, server_default=text("'[]'")
    )
    # Tenant-level analysis and risk settings (disabled categories, thresholds ...).
    settings: Mapped[dict[str, Any]] = mapped_column(
        JsonType, default=dict, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    """An API key; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="default")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
