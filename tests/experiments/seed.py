"""Analysed calls written straight to the database, for results tests and the speed benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Conversation, ConversationAdherence, Deal, DealStageChange, Insight
from models.base import new_id, utcnow


@dataclass(frozen=True, slots=True)
class Call:
    """One analysed call of an experiment with the facts its metrics come from."""

    variant: str | None
    occurred_at: datetime
    rep: str | None = "R-1"
    deal: str | None = None
    objections: Sequence[str] = ()
    next_step: bool = False
    talk_ratio: float | None = 0.5
    questions_per_min: float | None = 1.0
    adherence: float | None = None  # share of key lines said; None: not scored
    said_mask: str = ""
    experiment: str | None = "exp"  # the CRM's playbook.experiment (None: no playbook field)
    external_id: str | None = None
    evidence: list[dict[str, object]] = field(default_factory=list)


def seed_calls(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    calls: Iterable[Call],
    experiment_id: uuid.UUID | None = None,
) -> int:
    """Insert the calls (done, analysed) with their objections and adherence rows."""
    convs: list[dict[str, object]] = []
    insights: list[dict[str, object]] = []
    adherence: list[dict[str, object]] = []
    now = utcnow()
    for c in calls:
        cid = new_id()
        convs.append(
            {
                "id": cid,
                "tenant_id": tenant_id,
                "kind": "call",
                "source": "api",
                "external_id": c.external_id or f"call-{cid.hex[:12]}",
                "status": "done",
                "deal_external_id": c.deal,
                "rep_external_id": c.rep,
                "started_at": c.occurred_at,
                "occurred_at": c.occurred_at,
                "playbook_experiment": c.experiment if c.variant else None,
                "playbook_variant": c.variant if c.experiment else None,
                "meta": {},
                "metrics": {
                    "rep_talk_ratio": c.talk_ratio,
                    "rep_questions_per_min": c.questions_per_min,
                    "next_step_agreed": c.next_step,
                },
                "created_at": now,
                "updated_at": now,
                "transcribed_at": now,
                "analyzed_at": now,
            }
        )
        for label in c.objections:
            insights.append(
                {
                    "tenant_id": tenant_id,
                    "conversation_id": cid,
                    "kind": "objection",
                    "label": label,
                    "utterance": 1,
                    "quote": f"{label} is a problem for us",
                    "span_begin": 0,
                    "span_end": 10,
                    "speaker": "customer",
                    "confidence": 0.9,
                    "source": "seed",
                    "analyzer_version": "seed",
                    "occurred_at": c.occurred_at,
                    "created_at": now,
                }
            )
        if c.adherence is not None and experiment_id is not None and c.variant is not None:
            adherence.append(
                {
                    "tenant_id": tenant_id,
                    "conversation_id": cid,
                    "experiment_id": experiment_id,
                    "variant_key": c.variant,
                    "lines_total": len(c.said_mask) or 1,
                    "lines_said": c.said_mask.count("1"),
                    "share": c.adherence,
                    "said_mask": c.said_mask,
                    "evidence": c.evidence,
                    "analyzer_version": "seed",
                    "created_at": now,
                }
            )
    for table, rows in (
        (Conversation, convs),
        (Insight, insights),
        (ConversationAdherence, adherence),
    ):
        for k in range(0, len(rows), 5000):
            session.execute(insert(table), rows[k : k + 5000])
    return len(convs)


def seed_deal(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    external_id: str,
    status: str = "open",
    closed_at: datetime | None = None,
    owner: str | None = None,
    experiment: str | None = None,
    variant: str | None = None,
    stage_changes: Sequence[datetime] = (),
) -> None:
    """A deal with its stage history."""
    deal = Deal(
        tenant_id=tenant_id,
        external_id=external_id,
        status=status,
        closed_at=closed_at,
        owner_external_id=owner,
        playbook_experiment=experiment,
        playbook_variant=variant,
        stage="discovery",
    )
    session.add(deal)
    session.flush()
    for i, at in enumerate(stage_changes):
        session.add(
            DealStageChange(
                tenant_id=tenant_id,
                deal_id=deal.id,
                from_stage=f"s{i}",
                to_stage=f"s{i + 1}",
                changed_at=at,
            )
        )
