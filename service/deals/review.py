"""The pipeline-review queries (wins, new, closing, stalled, open objections, competitors).

Page handlers call these directly; every function is tenant-scoped and never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

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


@dataclass
class ReviewScope:
    """Whose review it is, judged at which time, and what its lists share (one per request)."""

    tenant_id: uuid.UUID
    team: str | None
    rep: str | None
    now: datetime
    cache: BoardCache = field(default_factory=BoardCache)

    def deals(self) -> list[ColumnElement[bool]]:
        """Conditions for the tenant's deals of this team and rep."""
        conds: list[ColumnElement[bool]] = [Deal.tenant_id == self.tenant_id]
        if self.team is not None:
            conds.append(Deal.team == self.team)
        if self.rep is not None:
            conds.append(Deal.owner_external_id == self.rep)
        return conds

    def rows(
        self, session: Session, conds: list[ColumnElement[bool]], order_by: Any = None
    ) -> list[DealSummary]:
        """Board rows of a section (at most SECTION_LIMIT), sharing this review's cache."""
        return summaries(
            session,
            tenant_id=self.tenant_id,
            conds=conds,
            order_by=order_by,
            limit=SECTION_LIMIT,
            now=self.now,
            cache=self.cache,
        )


def _note(state: f.ObjectionState, *, with_reasons: bool) -> ObjectionNote:
    """An objection state as the review shows it; reasons only say why it is still open."""
    reasons: list[str] = []
    if with_reasons:
        reasons = (["raised_again"] if state.raised_again else []) + (
            [] if state.rep_responded else ["no_rep_response"]
        )
    return ObjectionNote(
        category=state.category,
        times_raised=state.times_raised,
        last_raised_at=state.latest.occurred_at,
        reasons=reasons,
        quote=quote_link(state.latest),
    )


def wins_since(
    session: Session, scope: ReviewScope, *, since: datetime, until: datetime
) -> list[WonDeal]:
    """Deals won in [since, until) (newest first), each with the objections the customer raised."""
    conds = [*scope.deals(), Deal.status == "won", Deal.closed_at >= since, Deal.closed_at < until]
    wins = scope.rows(session, conds, order_by=(Deal.closed_at.desc(),))
    states = f.objection_states(
        session,
        tenant_id=scope.tenant_id,
        deals=[w.external_id for w in wins],
        since=None,
        categories=None,
    )
    return [
        WonDeal(
            deal=w,
            objections_overcome=[
                _note(s, with_reasons=False) for s in states.get(w.external_id, [])
            ],
        )
        for w in wins
    ]


def new_deals(
    session: Session, scope: ReviewScope, *, since: datetime, until: datetime
) -> list[DealSummary]:
    """Deals that entered the pipeline in the period (first CRM stage time, else first seen)."""
    first = (
        select(DealStageChange.deal_id, func.min(DealStageChange.changed_at).label("at"))
        .where(DealStageChange.tenant_id == scope.tenant_id)
        .group_by(DealStageChange.deal_id)
        .subquery()
    )
    entered = func.coalesce(first.c.at, Deal.created_at)
    ids = (
        select(Deal.id)
        .outerjoin(first, first.c.deal_id == Deal.id)
        .where(*scope.deals(), entered >= since, entered < until)
    )
    conds = [Deal.tenant_id == scope.tenant_id, Deal.id.in_(ids)]
    return scope.rows(session, conds, order_by=(Deal.created_at.desc(),))


def closing_before(session: Session, scope: ReviewScope, *, before: date) -> list[DealSummary]:
    """Open deals expected to close on or before a date (overdue ones included), soonest first."""
    return scope.rows(session, [*scope.deals(), Deal.status == "open", Deal.close_date <= before])


def stalled_deals(session: Session, scope: ReviewScope) -> list[DealSummary]:
    """Open deals in their stage longer than the tenant's stalled_days, longest first."""
    conds = filter_conditions(
        tenant_id=scope.tenant_id,
        filters=DealFilters(team=scope.team, rep=scope.rep, risk="stalled"),
        cfg=tenant_risk(session, tenant_id=scope.tenant_id),
        now=scope.now,
    )
    return scope.rows(session, conds, order_by=(Deal.stage_entered_at,))


def open_objections_by_deal(session: Session, scope: ReviewScope) -> list[DealObjections]:
    """Open deals with unresolved customer objections of the tenant's risk categories.

    The tenant's lookback applies. At most SECTION_LIMIT deals, those with the most open
    objections. Every open deal in scope is counted; the review's other lists reuse the counts.
    """
    cfg = tenant_risk(session, tenant_id=scope.tenant_id)
    conds = [*scope.deals(), Deal.status == "open"]
    # Rank every open deal by its count of open objections (grouped queries, no quotes), then
    # read the objection details, board rows and flags only for the deals shown.
    open_ids = list(session.execute(select(Deal.external_id).where(*conds)).scalars())
    since = scope.now - timedelta(days=cfg.objection_lookback_days)
    cache = scope.cache
    cache.contacts_of(session, scope.tenant_id, open_ids)
    counts = dc.open_objection_counts(
        session,
        tenant_id=scope.tenant_id,
        deals=open_ids,
        since=since,
        categories=cfg.objection_categories,
        contact=cache.contacts,
    )
    cache.open_counts = counts
    top = sorted((k for k, n in counts.items() if n), key=lambda k: (-counts[k], k))
    top = top[:SECTION_LIMIT]
    states = f.objection_states(
        session,
        tenant_id=scope.tenant_id,
        deals=top,
        since=since,
        categories=cfg.objection_categories,
        contact=cache.contacts,
    )
    out: list[DealObjections] = []
    for d in scope.rows(session, [*conds, Deal.external_id.in_(top)]):
        open_here = [s for s in states.get(d.external_id, []) if s.open]
        if open_here:
            notes = [_note(s, with_reasons=True) for s in open_here]
            out.append(DealObjections(deal=d, objections=notes))
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
    scope = ReviewScope(tenant_id=tenant_id, team=team, rep=rep, now=now)
    # Open objections first: they count every open deal in scope, which the other lists reuse.
    obstacles = open_objections_by_deal(session, scope)
    return ReviewData(
        since=since,
        until=until,
        wins=wins_since(session, scope, since=since, until=until),
        new_deals=new_deals(session, scope, since=since, until=until),
        closing=closing_before(session, scope, before=(until + (until - since)).date()),
        stalled=stalled_deals(session, scope),
        open_objections=obstacles,
        competitors=competitor_movement(
            session, since=since, until=until, tenant_id=tenant_id, team=team, rep=rep
        ),
    )
