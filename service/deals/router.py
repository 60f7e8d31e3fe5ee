"""GET /v1/deals and /v1/deals/{id}: the deal board and the deal page as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from models.base import utcnow
from service.auth import TenantDep
from service.db import SessionDep
from service.deals.detail import deal_detail
from service.deals.review import ReviewData, review_data
from service.deals.schemas import DealDetail, DealFilters, DealSummary, RiskCode
from service.deals.service import list_deals
from service.errors import BadRequest

router = APIRouter(tags=["deals"])
Label = Annotated[str | None, Query(min_length=1, max_length=255)]


class DealPage(BaseModel):
    """Deals matching the filters, soonest close date first."""

    items: list[DealSummary]


@router.get("/v1/deals", response_model=DealPage)
def get_deals(
    tenant: TenantDep,
    session: SessionDep,
    team: Label = None,
    rep: Label = None,
    stage: Label = None,
    status: Literal["open", "won", "lost"] | None = None,
    risk: RiskCode | None = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> DealPage:
    """The deal board, filtered by team, owner rep, stage, status or risk flag."""
    filters = DealFilters(team=team, rep=rep, stage=stage, status=status, risk=risk, limit=limit)
    return DealPage(items=list_deals(session, tenant_id=tenant.id, filters=filters))


@router.get("/v1/deals/{deal_id}", response_model=DealDetail, responses={404: {}})
def get_deal_detail(deal_id: str, tenant: TenantDep, session: SessionDep) -> DealDetail:
    """One deal: timeline, objections with status and quotes, competitors, talk metrics, flags."""
    return deal_detail(session, tenant_id=tenant.id, deal_id=deal_id)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/v1/review", response_model=ReviewData, responses={400: {}})
def get_review(
    tenant: TenantDep,
    session: SessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
    team: Label = None,
    rep: Label = None,
) -> ReviewData:
    """The pipeline review for [since, until) (default: the last 14 days) as JSON."""
    end = _utc(until) or utcnow()
    start = _utc(since) or end - timedelta(days=14)
    if start >= end:
        raise BadRequest("'since' must be before 'until'", code="invalid_range")
    if end - start > timedelta(days=366):
        raise BadRequest("a review covers at most 366 days", code="range_too_long")
    return review_data(session, tenant_id=tenant.id, since=start, until=end, team=team, rep=rep)
