"""Insights (objections, competitor mentions) with their evidence, and the tenant's catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonType, UtcDateTime, new_id, utcnow


class Insight(Base):
    """One finding in a conversation, with the quote, speaker and timestamps behind it."""

    __tablename__ = "insight"
    __table_args__ = (
        Index("ix_insight_conversation", "conversation_id"),
        # Trends and evidence: per tenant, kind and label over time.
        Index("ix_insight_tenant_kind_label_occurred", "tenant_id", "kind", "label", "occurred_at"),
        Index("ix_insight_tenant_deal", "tenant_id", "deal_external_id"),
        # Per-deal objection and competitor facts, grouped by label (covering).
        Index(
            "ix_insight_tenant_deal_kind_label",
            "tenant_id",
            "deal_external_id",
            "kind",
            "label",
            "occurred_at",
            "speaker",
        ),
        # Trends filtered by stage or deal: a time range per deal, covering (label, conversation).
        Index(
            "ix_insight_tenant_deal_kind_occurred",
            "tenant_id",
            "deal_external_id",
            "kind",
            "occurred_at",
            "label",
            "conversation_id",
        ),
        # Trends over all categories, and filtered by team or rep (label, then deal: covering
        # for counts per label and for the distinct deals behind each label in a period).
        Index(
            "ix_insight_tenant_kind_occurred_label_deal",
            "tenant_id",
            "kind",
            "occurred_at",
            "label",
            "deal_external_id",
        ),
        Index("ix_insight_tenant_kind_team_occurred", "tenant_id", "kind", "team", "occurred_at"),
        Index(
            "ix_insight_tenant_kind_rep_occurred",
            "tenant_id",
            "kind",
            "rep_external_id",
            "occurred_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversation.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # objection | competitor
    label: Mapped[str] = mapped_column(String(200))
    utterance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quote: Mapped[str] = mapped_column(Text)
    span_begin: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    speaker: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    context: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(120), default="")
    analyzer_version: Mapped[str] = mapped_column(String(200))
    # Copied from the conversation so trend queries need no join.
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deal_external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    rep_external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OrgMention(Base):
    """An organisation outside the catalogue named in a conversation (for candidate lists)."""

    __tablename__ = "org_mention"
    __table_args__ = (
        UniqueConstraint("conversation_id", "key"),
        Index("ix_org_mention_tenant_key", "tenant_id", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversation.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(200))  # normalised: letters and digits, lowercase
    name: Mapped[str] = mapped_column(String(200))  # as first written
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Competitor(Base):
    """An entry of a tenant's competitor catalogue."""

    __tablename__ = "competitor"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(JsonType, default=list)
    ambiguous: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Tracker(Base):
    """A tenant's own tracker: keyword phrases, or a smart tracker trained from examples."""

    __tablename__ = "tracker"
    __table_args__ = (UniqueConstraint("tenant_id", "label", "mode"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))  # keyword | smart
    speaker: Mapped[str] = mapped_column(String(16), default="customer")
    phrases: Mapped[list[str]] = mapped_column(JsonType, default=list)
    only_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    examples: Mapped[list[str]] = mapped_column(JsonType, default=list)
    negatives: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # The trained scorer (weights, bias, threshold, negative embeddings) for smart trackers.
    trained: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
