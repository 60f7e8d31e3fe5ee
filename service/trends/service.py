"""Trends of objections and competitor mentions: counts, conversations and rates per bucket."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from service.trends.params import TrendFilters, buckets
from service.trends.query import (
    conversation_counts,
    insight_counts,
    rollup_conversations,
    rollup_counts,
    rollup_usable,
)
from service.trends.schemas import TrendOut, TrendPoint
from service.trends.stats import poisson_rate_interval, wilson_interval


def trend(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    filters: TrendFilters,
    use_rollup: bool | None = None,
) -> TrendOut:
    """Per bucket and label (and context for competitors): count, conversations, rate, share.

    Whole-day windows without rep, deal or stage filters are summed from trend_day; the rest
    group the insight rows themselves. Both give the same numbers (use_rollup forces one).
    """
    by_context = kind == "competitor"
    if rollup_usable(filters) if use_rollup is None else use_rollup:
        rows = rollup_counts(
            session, tenant_id=tenant_id, kind=kind, f=filters, by_context=by_context
        )
        denominators = rollup_conversations(session, tenant_id=tenant_id, f=filters)
    else:
        rows = insight_counts(
            session, tenant_id=tenant_id, kind=kind, f=filters, by_context=by_context
        )
        denominators = conversation_counts(session, tenant_id=tenant_id, f=filters)
    days = buckets(filters.start, filters.end, filters.interval)
    found = {(b, label, ctx): (n, c) for b, label, ctx, n, c in rows}
    series = sorted(
        {(label, ctx) for _, label, ctx, _, _ in rows}, key=lambda s: (s[0], s[1] or "")
    )
    if not series and filters.label is not None:
        series = [(filters.label, filters.context if by_context else None)]
    points: list[TrendPoint] = []
    for label, ctx in series:
        for d in days:
            key = d.isoformat()
            n, with_it = found.get((key, label, ctx), (0, 0))
            convs = denominators.get(key, 0)
            low, high = poisson_rate_interval(n, convs)
            s_low, s_high = wilson_interval(with_it, convs)
            points.append(
                TrendPoint(
                    bucket=d,
                    label=label,
                    context=ctx,
                    count=n,
                    conversations=convs,
                    rate=n / convs if convs else 0.0,
                    rate_low=low,
                    rate_high=high,
                    conversations_with=with_it,
                    share=with_it / convs if convs else 0.0,
                    share_low=s_low,
                    share_high=s_high,
                )
            )
    return TrendOut(
        kind=kind,
        interval=filters.interval,
        start=filters.start,
        end=filters.end,
        buckets=days,
        conversations={d.isoformat(): denominators.get(d.isoformat(), 0) for d in days},
        points=points,
    )
