"""Choices for the page filters (teams, reps, stages) and deal next steps; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Conversation, Deal


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """Distinct values present in the tenant's deals."""

    teams: list[str]
    reps: list[tuple[str, str]]  # (external id, display name)
    stages: list[str]


def filter_options(session: Session, *, tenant_id: uuid.UUID) -> FilterOptions:
    """The teams, owner reps and stages of the tenant's deals, sorted."""
    teams = session.execute(
        select(Deal.team)
        .where(Deal.tenant_id == tenant_id, Deal.team.is_not(None))
        .distinct()
        .order_by(Deal.team)
        .limit(500)
    ).scalars()
    stages = session.execute(
        select(Deal.stage)
        .where(Deal.tenant_id == tenant_id, Deal.stage.is_not(None))
        .distinct()
        .order_by(Deal.stage)
        .limit(500)
    ).scalars()
    reps = session.execute(
        select(Deal.owner_external_id, Deal.owner_name)
        .where(Deal.tenant_id == tenant_id, Deal.owner_external_id.is_not(None))
        .distinct()
        .order_by(Deal.owner_name, Deal.owner_external_id)
        .limit(1000)
    ).all()
    seen: dict[str, str] = {}
    for rid, name in reps:
        if rid is not None and rid not in seen:
            seen[rid] = name or rid
    return FilterOptions(
        teams=[t for t in teams if t],
        reps=sorted(seen.items(), key=lambda r: r[1].lower()),
        stages=[s for s in stages if s],
    )


@dataclass(frozen=True, slots=True)
class NextStep:
    """A follow-up proposed and accepted in a call, with the sentences saying so."""

    conversation_id: uuid.UUID
    occurred_at: datetime
    evidence: list[dict[str, Any]]


def latest_next_step(
    session: Session, *, tenant_id: uuid.UUID, external_id: str, calls: int = 10
) -> NextStep | None:
    """The newest agreed next step among the deal's last analysed calls."""
    rows = session.execute(
        select(Conversation.id, Conversation.occurred_at, Conversation.metrics)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.deal_external_id == external_id,
            Conversation.kind == "call",
            Conversation.analyzed_at.is_not(None),
        )
        .order_by(Conversation.occurred_at.desc())
        .limit(calls)
    ).all()
    for cid, at, metrics in rows:
        m = metrics or {}
        if m.get("next_step_agreed"):
            return NextStep(cid, at, list(m.get("next_step_evidence") or []))
    return None
