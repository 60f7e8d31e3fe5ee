"""Playbook experiments: variants with their scripts, logged exposures, per-call adherence."""

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

EXPERIMENT_UNITS = ("rep", "deal", "conversation")


class Experiment(Base):
    """An A/B test of script variants; the primary metric is fixed when it is created."""

    __tablename__ = "experiment"
    # The key is what the CRM sends as playbook.experiment.
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16))  # rep | deal | conversation
    primary_metric: Mapped[str] = mapped_column(String(64))
    secondary_metrics: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # Per-experiment salt: the same unit lands in unrelated variants in different experiments.
    salt: Mapped[str] = mapped_column(String(64))
    # Units (of `unit`) per variant the team plans for: tunes where the sequence is tightest.
    planned_units_per_variant: Mapped[int] = mapped_column(Integer)
    # The effect worth detecting, in points (proportions) or metric units (means).
    minimum_effect: Mapped[float | None] = mapped_column(Float, nullable=True)
    stage_window_days: Mapped[int] = mapped_column(Integer, default=14)
    # A call is adherent (per-protocol) when the rep said at least this share of the key lines.
    adherence_min_share: Mapped[float] = mapped_column(Float, default=0.5)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set once by POST /stop: results count calls before it, assignment stops logging.
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ExperimentVariant(Base):
    """One arm of an experiment: its weight and the key lines of its script."""

    __tablename__ = "experiment_variant"
    __table_args__ = (UniqueConstraint("experiment_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experiment.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))  # what the CRM sends as playbook.variant
    name: Mapped[str] = mapped_column(String(200))
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer)
    script: Mapped[list[str]] = mapped_column(JsonType, default=list)


class ExperimentExposure(Base):
    """A unit's first assignment to a variant (by the service or as the CRM reported it)."""

    __tablename__ = "experiment_exposure"
    __table_args__ = (UniqueConstraint("experiment_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experiment.id", ondelete="CASCADE")
    )
    unit_id: Mapped[str] = mapped_column(String(255))
    variant_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default="service")  # service | crm
    exposed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConversationAdherence(Base):
    """Which key lines of its variant a conversation's rep said, with the quotes."""

    __tablename__ = "conversation_adherence"
    __table_args__ = (
        UniqueConstraint("conversation_id", "experiment_id"),
        Index("ix_conversation_adherence_experiment", "experiment_id", "variant_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversation.id", ondelete="CASCADE")
    )
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experiment.id", ondelete="CASCADE")
    )
    variant_key: Mapped[str] = mapped_column(String(255))
    lines_total: Mapped[int] = mapped_column(Integer)
    lines_said: Mapped[int] = mapped_column(Integer)
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    # "1" or "0" per key line in script order, so line usage is counted in SQL with substr().
    said_mask: Mapped[str] = mapped_column(String(64), default="")
    # [{"line", "said", "score", "quote", "utterance", "start", "end"}, ...]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    analyzer_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
