"""The review's competitor updates: mentions this period against the one before, with quotes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import Insight
from service.deals import facts as f
from service.deals.latest import quote_columns
from service.deals.risk import quote_link
from service.deals.schemas import EvidenceLink
from service.trends.params import TrendFilters
from service.trends.service import trend

QUOTES_PER_ITEM = 3


class CompetitorDelta(BaseModel):
    """Mentions of a competitor this period against the period before, with quotes."""

    name: str
    current: int
    previous: int
    change: int
    deals: int
    contexts: dict[str, int]
    quotes: list[EvidenceLink]


def competitor_movement(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    since: datetime,
    until: datetime,
    team: str | None = None,
    rep: str | None = None,
) -> list[CompetitorDelta]:
    """Competitor mentions in [since, until) against the same length before, with quotes."""
    prev = since - (until - since)
    i = Insight
    conds: list[ColumnElement[bool]] = [
        i.tenant_id == tenant_id,
        i.kind == "competitor",
        i.occurred_at < until,
    ]
    if team is not None:
        conds.append(i.team == team)
    if rep is not None:
        conds.append(i.rep_external_id == rep)
    current = i.occurred_at >= since
    # Counts per competitor and context from the trend path (daily counts for whole days);
    # only the distinct deals of the current period group the insight rows.
    totals: dict[str, list[int]] = {}
    contexts: dict[str, dict[str, int]] = {}
    for slot, (start, end) in enumerate(((since, until), (prev, since))):
        window = TrendFilters(start=start, end=end, interval="month", team=team, rep=rep)
        for p in trend(session, tenant_id=tenant_id, kind="competitor", filters=window).points:
            if p.count:
                totals.setdefault(p.label, [0, 0])[slot] += p.count
                if slot == 0:
                    ctx = contexts.setdefault(p.label, {})
                    ctx[p.context or "other"] = ctx.get(p.context or "other", 0) + p.count
    deal_counts = dict(
        session.execute(
            select(i.label, func.count(func.distinct(i.deal_external_id)))
            .where(*conds, current)
            .group_by(i.label)
        ).all()
    )
    rows = [(label, cur, pre, deal_counts.get(label, 0)) for label, (cur, pre) in totals.items()]
    # The newest quotes per competitor: a short index range scan each (a handful of labels).
    quotes: dict[str, list[EvidenceLink]] = {}
    for label, *_ in rows:
        q = (
            select(*quote_columns(i))
            .where(*conds, current, i.label == label)
            .order_by(i.occurred_at.desc(), i.id.desc())
            .limit(QUOTES_PER_ITEM)
        )
        quotes[label] = [quote_link(f.quote_of(r)) for r in session.execute(q)]
    out = [
        CompetitorDelta(
            name=label,
            current=int(cur or 0),
            previous=int(pre or 0),
            change=int(cur or 0) - int(pre or 0),
            deals=int(deals or 0),
            contexts=contexts.get(label, {}),
            quotes=quotes.get(label, []),
        )
        for label, cur, pre, deals in rows
    ]
    out.sort(key=lambda c: (-c.current, -abs(c.change), c.name))
    return out
