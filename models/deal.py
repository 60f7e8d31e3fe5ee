"""Deals as the CRM reports them, and the history of their stages."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, new_id, utcnow

DEAL_STATUSES = ("open", "won", "lost")


class Deal(Base):
    """A CRM deal; conversations and insights link to it by its external id."""

    __tablename__ = "deal"
    __table_args__ = (
        # The CRM's id is the link: a recording may name the deal before deal.updated arrives.
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_deal_tenant_status_stage", "tenant_id", "status", "stage"),
        Index("ix_deal_tenant_team", "tenant_id", "team"),
        Index("ix_deal_tenant_owner", "tenant_id", "owner_external_id"),
        Index("ix_deal_tenant_close_date", "tenant_id", "close_date"),
        Index("ix_deal_tenant_closed", "tenant_id", "closed_at"),
        Index("ix_deal_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    close_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    owner_external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    owner_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    # The event's own updated_at: an older event never overwrites a newer one. None while the
    # row is only a placeholder made from a recording's deal metadata.
    crm_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stage_entered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    playbook_experiment: Mapped[str | None] = mapped_column(String(255), nullable=True)
    playbook_variant: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DealStageChange(Base):
    """One move of a deal from a stage to another, at the CRM's time."""

    __tablename__ = "deal_stage_change"
    __table_args__ = (
        Index("ix_deal_stage_change_deal_changed", "deal_id", "changed_at"),
        Index("ix_deal_stage_change_tenant_changed", "tenant_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deal.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    to_stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
