"""Conversations (calls, later emails) and their transcript segments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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


def _occurred_default(context: Any) -> datetime:
    """started_at when the CRM gave one, else created_at, else now (a column default)."""
    params = context.get_current_parameters()
    value = params.get("started_at") or params.get("created_at")
    return value if isinstance(value, datetime) else utcnow()


CONVERSATION_STATUSES = ("queued", "fetching", "transcribing", "analyzing", "done", "failed")


class Conversation(Base):
    """One recorded call (or email) with the CRM metadata it arrived with."""

    __tablename__ = "conversation"
    __table_args__ = (
        # The CRM retries; the same (tenant, kind, external id) is one conversation.
        UniqueConstraint("tenant_id", "kind", "external_id"),
        Index("ix_conversation_tenant_deal", "tenant_id", "deal_external_id"),
        Index("ix_conversation_tenant_status_created", "tenant_id", "status", "created_at"),
        Index("ix_conversation_tenant_created", "tenant_id", "created_at"),
        Index("ix_conversation_tenant_thread", "tenant_id", "thread_key"),
        # Trend denominators (analysed conversations per bucket) and deal timelines.
        Index("ix_conversation_tenant_status_occurred", "tenant_id", "status", "occurred_at"),
        Index("ix_conversation_tenant_team_occurred", "tenant_id", "team", "occurred_at"),
        # Unfiltered denominators of a partial day (a trend window not on midnight): a range.
        Index("ix_conversation_tenant_occurred", "tenant_id", "occurred_at", "analyzed_at"),
        Index("ix_conversation_tenant_rep_occurred", "tenant_id", "rep_external_id", "occurred_at"),
        # Covering for the per-deal facts (counts, last contact, last rep touch, recent calls).
        Index(
            "ix_conversation_tenant_deal_occurred",
            "tenant_id",
            "deal_external_id",
            "occurred_at",
            "kind",
            "direction",
            "status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="call")
    source: Mapped[str] = mapped_column(String(16))  # webhook | api
    external_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    deal_external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    rep_external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The rep's team (from the rep metadata, else the deal's), copied so trends need no join.
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    direction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    playbook_experiment: Mapped[str | None] = mapped_column(String(255), nullable=True)
    playbook_variant: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Emails: the root Message-ID of the thread, so a thread can be read as one conversation.
    thread_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The metadata exactly as posted (deal, rep, participants, channels, playbook, extra keys).
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)

    recording_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    blob_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    media_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)

    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    asr_model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When it happened (started_at, else created_at): one indexed column for time buckets.
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_occurred_default)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    transcribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    analyzed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TranscriptSegment(Base):
    """One speaker turn of a transcript, with its words as JSON."""

    __tablename__ = "transcript_segment"
    __table_args__ = (UniqueConstraint("conversation_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversation.id", ondelete="CASCADE")
    )
    idx: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # [[word, start, end, prob], ...]: compact, read whole with the segment.
    words: Mapped[list[list[Any]]] = mapped_column(JsonType, default=list)
