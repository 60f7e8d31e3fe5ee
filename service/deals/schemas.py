"""API shapes of deals: list rows, the deal page, risk flags and their evidence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel

RiskCode = Literal[
    "stalled",
    "no_contact",
    "close_date_passed",
    "active_competitor",
    "open_objections",
    "talk_ratio_high",
]
RISK_CODES: tuple[str, ...] = get_args(RiskCode)


@dataclass(frozen=True, slots=True)
class DealFilters:
    """List filters; None means any. risk keeps only deals carrying that flag."""

    team: str | None = None
    rep: str | None = None
    stage: str | None = None
    status: str | None = None
    risk: str | None = None
    limit: int = 500


class Owner(BaseModel):
    """The rep who owns a deal."""

    external_id: str
    name: str | None


class EvidenceLink(BaseModel):
    """What a flag or objection rests on: a quote in a conversation, or a CRM fact."""

    kind: Literal["insight", "conversation", "stage_change", "deal"]
    conversation_id: uuid.UUID | None = None
    insight_id: int | None = None
    occurred_at: datetime | None = None
    quote: str | None = None
    speaker: str | None = None
    start: float | None = None
    end: float | None = None
    url: str | None = None
    note: str | None = None


class RiskFlag(BaseModel):
    """A warning sign with a sentence saying why and the evidence behind it."""

    code: RiskCode
    title: str
    explanation: str
    evidence: list[EvidenceLink]


class DealSummary(BaseModel):
    """A deal as a row of the deal board."""

    id: uuid.UUID
    external_id: str
    name: str | None
    stage: str | None
    amount: Decimal | None
    currency: str | None
    close_date: date | None
    owner: Owner | None
    team: str | None
    status: str
    # False while the deal is only known from a recording's or email's metadata.
    crm_synced: bool
    stage_entered_at: datetime | None
    days_in_stage: int | None
    last_contact_at: datetime | None
    conversations: int
    risks: list[RiskCode]
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StageChangeOut(BaseModel):
    """One stage move, at the CRM's time."""

    from_stage: str | None
    to_stage: str | None
    changed_at: datetime


class TimelineItem(BaseModel):
    """A call or email of the deal, oldest first."""

    conversation_id: uuid.UUID
    kind: str
    occurred_at: datetime
    direction: str | None
    status: str
    rep_external_id: str | None
    duration: float | None
    subject: str | None
    objections: int
    competitor_mentions: int
    url: str


class ObjectionOut(BaseModel):
    """One objection category raised by the customer on the deal, open or resolved."""

    category: str
    status: Literal["open", "resolved"]
    reasons: list[Literal["raised_again", "no_rep_response"]]
    times_raised: int
    conversations: int
    first_raised_at: datetime
    last_raised_at: datetime
    evidence: list[EvidenceLink]


class CompetitorOut(BaseModel):
    """A competitor in play on the deal."""

    name: str
    mentions: int
    customer_mentions: int  # said by the customer (not the rep or an unknown speaker)
    contexts: dict[str, int]
    first_mentioned_at: datetime
    last_mentioned_at: datetime
    active: bool
    evidence: list[EvidenceLink]


class TalkPoint(BaseModel):
    """Talk metrics of one call, for the over-time chart."""

    conversation_id: uuid.UUID
    occurred_at: datetime
    rep_talk_ratio: float | None
    longest_rep_monologue_s: float | None
    rep_questions_per_min: float | None
    interactivity_per_min: float | None


class DealDetail(DealSummary):
    """The deal page: what happened so far, what stands in the way, and what looks risky."""

    playbook_experiment: str | None
    playbook_variant: str | None
    stage_history: list[StageChangeOut]
    timeline: list[TimelineItem]
    objections: list[ObjectionOut]
    competitors: list[CompetitorOut]
    talk_metrics: list[TalkPoint]
    risk_flags: list[RiskFlag]
