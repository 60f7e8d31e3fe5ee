"""The pipeline-review queries (wins, new, closing, stalled, open objections, competitors).

Page handlers call these directly; every function is tenant-scoped and never commits.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import Deal, DealStageChange
from models.base import utcnow
from service.deals import counts as dc
from service.deals import facts as f
from service.deals.competitor_movement import CompetitorDelta, competitor_movement
from service.deals.risk import quote_link
from service.deals.schemas import DealFilters, DealSummary, EvidenceLink
from service.deals.service import BoardCache, filter_conditions, summaries, tenant_risk

# A review discusses the first deals of each list; every list section is capped at this.
SECTION_LIMIT = 50


class ObjectionNote(BaseModel):
    """An objection category on a deal, with its latest quote."""

    category: str
    times_raised: int
    last_raised_at: datetime
    reasons: list[str]
    quote: EvidenceLink


class WonDeal(BaseModel):
    """A deal won in the period and the objections it overcame on the way."""

    deal: DealSummary
    objections_overcome: list[ObjectionNote]


class DealObjections(BaseModel):
    """An open deal with its unresolved objections."""

    deal: DealSummary
    objections: list[ObjectionNote]


class ReviewData(BaseModel):
    """Everything a pipeline review page shows for one period."""

    since: datetime
    until: datetime
    wins: list[WonDeal]
    new_deals: list[DealSummary]
    closing: list[DealSummary]
    stalled: list[DealSummary]
    open_objections: list[DealObjections]
    competitors: list[CompetitorDelta]


def _conds(tenant_id: uuid.UUID, team: str | None, rep: str | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Deal.tenant_id == tenant_id]
    if team is not None:
        conds.append(Deal.team == team)
    if rep is not None:
        conds.append(Deal.owner_external_id == rep)
    return conds


def wins_since(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    since: datetime,
    until: datetime | None = None,
    team: str | None = None,
    rep: str | None = None,
    now: datetime | None = None,
    cache: BoardCache | None = None,
) -> list[WonDeal]:
    """Deals won since a time (newest first), each with the objections the customer raised."""
    conds = [*_conds(tenant_id, team, rep), Deal.status == "won", Deal.closed_at >= since]
    if until is not None:
        conds.append(Deal.closed_at < until)
    wins = summaries(
        session,
        tenant_id=tenant_id,
        conds=conds,
        order_by=(Deal.closed_at.desc(),),
        limit=SECTION_LIMIT,
        now=now,
        cache=cache,
    )
    states = f.objection_states(
        session,
        tenant_id=tenant_id,
        deals=[w.external_id for w in wins],
        since=None,
        categories=None,
    )
    return [
        WonDeal(
            deal=w,
            objections_overcome=[
                ObjectionNote(
                    category=s.category,
                    times_raised=s.times_raised,
                    last_raised_at=s.latest.occurred_at,
                    reasons=[],
                    quote=quote_link(s.latest),
                )
                for s in states.get(w.external_id, [])
            ],
        )
        for w in wins
    ]


def new_deals(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    since: datetime,
    until: datetime | None = None,
    team: str | None = None,
    rep: str | None = None,
    now: datetime | None = None,
    cache: BoardCache | None = None,
) -> list[DealSummary]:
    """Deals that entered the pipeline in the period (first CRM stage time, else first seen)."""
    first = (
        select(DealStageChange.deal_id, func.min(DealStageChange.changed_at).label("at"))
        .where(DealStageChange.tenant_id == tenant_id)
        .group_by(DealStageChange.deal_id)
        .subquery()
    )
    entered = func.coalesce(first.c.at, Deal.created_at)
    window = [entered >= since] + ([entered < until] if until is not None else [])
    ids = (
        select(Deal.id)
        .outerjoin(first, first.c.deal_id == Deal.id)
        .where(*_conds(tenant_id, team, rep), *window)
    )
    return summaries(
        session,
        tenant_id=tenant_id,
        conds=[Deal.tenant_id == tenant_id, Deal.id.in_(ids)],
        order_by=(Deal.created_at.desc(),),
        limit=SECTION_LIMIT,
        now=now,
        cache=cache,
    )


def closing_before(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    before: date,
    team: str | None = None,
    rep: str | None = None,
    now: datetime | None = None,
    cache: BoardCache | None = None,
) -> list[DealSummary]:
    """Open deals expected to close on or before a date (overdue ones included), soonest first."""
    conds = [*_conds(tenant_id, team, rep), Deal.status == "open", Deal.close_date <= before]
    return summaries(
        session, tenant_id=tenant_id, conds=conds, limit=SECTION_LIMIT, now=now, cache=cache
    )


def stalled_deals(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    team: str | None = None,
    rep: str | None = None,
    now: datetime | None = None,
    cache: BoardCache | None = None,
) -> list[DealSummary]:
    """Open deals in their stage longer than the tenant's stalled_days, longest first."""
    now = now or utcnow()
    cfg = tenant_risk(session, tenant_id=tenant_id)
    conds = filter_conditions(
        tenant_id=tenant_id,
        filters=DealFilters(team=team, rep=rep, risk="stalled"),
        cfg=cfg,
        now=now,
    )
    return summaries(
        session,
        tenant_id=tenant_id,
        conds=conds,
        order_by=(Deal.stage_entered_at,),
        limit=SECTION_LIMIT,
        now=now,
        cache=cache,
    )


def open_objections_by_deal(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    team: str | None = None,
    rep: str | None = None,
    categories: list[str] | None = None,
    now: datetime | None = None,
    cache: BoardCache | None = None,
    limit: int = SECTION_LIMIT,
) -> list[DealObjections]:
    """Open deals with unresolved customer objections, most objections first.

    Categories default to the tenant's risk categories; the tenant's lookback applies. At most
    limit deals, those with the most open objections.
    """
    now = now or utcnow()
    cfg = tenant_risk(session, tenant_id=tenant_id)
    conds = [*_conds(tenant_id, team, rep), Deal.status == "open"]
    # Rank every open deal by its count of open objections (grouped queries, no quotes), then
    # read the objection details, board rows and flags only for the deals shown.
    open_ids = list(session.execute(select(Deal.external_id).where(*conds)).scalars())
    wanted = set(categories) if categories is not None else set(cfg.objection_categories)
    since = now - timedelta(days=cfg.objection_lookback_days)
    cache = cache if cache is not None else BoardCache()
    cache.contacts_of(session, tenant_id, open_ids)
    counts = dc.open_objection_counts(
        session,
        tenant_id=tenant_id,
        deals=open_ids,
        since=since,
        categories=sorted(wanted),
        contact=cache.contacts,
    )
    if categories is None and cache.open_counts is None:
        cache.open_counts = counts  # the flag's own categories: every later list reuses them
    top = sorted((k for k, n in counts.items() if n), key=lambda k: (-counts[k], k))[:limit]
    states = f.objection_states(
        session,
        tenant_id=tenant_id,
        deals=top,
        since=since,
        categories=sorted(wanted),
        contact=cache.contacts,
    )
    deals = summaries(
        session,
        tenant_id=tenant_id,
        conds=[*conds, Deal.external_id.in_(top)],
        limit=limit,
        now=now,
        cache=cache,
    )
    out: list[DealObjections] = []
    for d in deals:
        open_here = [s for s in states.get(d.external_id, []) if s.open and s.category in wanted]
        if not open_here:
            continue
        out.append(
            DealObjections(
                deal=d,
                objections=[
                    ObjectionNote(
                        category=s.category,
                        times_raised=s.times_raised,
                        last_raised_at=s.latest.occurred_at,
                        reasons=(["raised_again"] if s.raised_again else [])
                        + ([] if s.rep_responded else ["no_rep_response"]),
                        quote=quote_link(s.latest),
                    )
                    for s in open_here
                ],
            )
        )
    out.sort(key=lambda d: (-len(d.objections), d.deal.close_date or date.max))
    return out


def review_data(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    since: datetime,
    until: datetime | None = None,
    team: str | None = None,
    rep: str | None = None,
    now: datetime | None = None,
) -> ReviewData:
    """The whole review for [since, until): closing covers the same length after until."""
    now = now or utcnow()
    until = until or now
    next_review = (until + (until - since)).date()
    t, tm, rp = tenant_id, team, rep
    cache = BoardCache()  # each deal's flag inputs are computed once per review
    # Open objections first: they count every open deal in scope, which the other lists reuse.
    obstacles = open_objections_by_deal(session, now=now, tenant_id=t, team=tm, rep=rp, cache=cache)
    return ReviewData(
        since=since,
        until=until,
        wins=wins_since(
            session, since=since, until=until, now=now, tenant_id=t, team=tm, rep=rp, cache=cache
        ),
        new_deals=new_deals(
            session, since=since, until=until, now=now, tenant_id=t, team=tm, rep=rp, cache=cache
        ),
        closing=closing_before(
            session, before=next_review, now=now, tenant_id=t, team=tm, rep=rp, cache=cache
        ),
        stalled=stalled_deals(session, now=now, tenant_id=t, team=tm, rep=rp, cache=cache),
        open_objections=obstacles,
        competitors=competitor_movement(
            session, since=since, until=until, tenant_id=t, team=tm, rep=rp
        ),
    )
