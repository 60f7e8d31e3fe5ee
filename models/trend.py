"""Daily counts behind the trend charts, kept in step with the insight table."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, PrimaryKeyConstraint, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class TrendDay(Base):
    """Per tenant, UTC day, kind, label, context and team: insights and conversations.

    kind "conversation" rows (empty label) count analysed conversations: the denominators.
    Empty strings stand for "none", so the key has no NULLs.
    """

    __tablename__ = "trend_day"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "kind", "day", "label", "context", "team"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(200))
    context: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(200))
    # Insights (for kind conversation: conversations), and conversations with at least one.
    hits: Mapped[int] = mapped_column(Integer)
    conversations: Mapped[int] = mapped_column(Integer)
