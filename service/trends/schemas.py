"""API shapes of trends and evidence."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel


class TrendPoint(BaseModel):
    """One bucket of one category (or competitor and context)."""

    bucket: date
    label: str
    context: str | None
    count: int
    conversations: int
    rate: float
    rate_low: float
    rate_high: float
    conversations_with: int
    share: float
    share_low: float
    share_high: float


class TrendOut(BaseModel):
    """A trend: every bucket of the window, zero-filled, per label."""

    kind: str
    interval: str
    start: datetime
    end: datetime
    buckets: list[date]
    conversations: dict[str, int]
    points: list[TrendPoint]


class EvidenceItem(BaseModel):
    """One quote behind a bar, with where it was said."""

    insight_id: int
    kind: str
    label: str
    context: str | None
    quote: str
    speaker: str
    start: float | None
    end: float | None
    confidence: float
    occurred_at: datetime
    conversation_id: uuid.UUID
    conversation_url: str
    conversation_kind: str
    deal_id: uuid.UUID | None
    deal_external_id: str | None
    deal_name: str | None
    rep_external_id: str | None
    team: str | None


class EvidencePage(BaseModel):
    """A page of evidence, newest first; pass next_cursor as cursor for the next page."""

    items: list[EvidenceItem]
    next_cursor: str | None
