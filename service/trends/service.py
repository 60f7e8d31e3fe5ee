"""Trends of objections and competitor mentions: counts, conversations and rates per bucket."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from service.trends.params import TrendFilters, buckets
from service.trends.query import (
    conversation_counts,
    insight_counts,
    rollup_conversations,
    rollup_counts,
)
from service.trends.schemas import TrendOut, TrendPoint
from service.trends.stats import poisson_rate_interval, wilson_interval


def _midnight(at: datetime, *, up: bool) -> datetime:
    day = datetime.combine(at.date(), time(), tzinfo=UTC)
    return day + timedelta(days=1) if up and day < at else day


def window_parts(
    f: TrendFilters, *, use_rollup: bool | None = None
) -> list[tuple[str, TrendFilters]]:
    """Split the window: whole UTC days from trend_day, partial days at the edges from insights.

    Rep, deal and stage filters are not in trend_day, so those windows group insights whole.
    """
    if use_rollup is False or f.rep is not None or f.deal is not None or f.stage is not None:
        return [("insights", f)]
    first, last = _midnight(f.start, up=True), _midnight(f.end, up=False)
    if first >= last:
        return [("insights", f)]
    parts: list[tuple[str, TrendFilters]] = []
    if f.start < first:
        parts.append(("insights", replace(f, end=first)))
    parts.append(("rollup", replace(f, start=first, end=last)))
    if last < f.end:
        parts.append(("insights", replace(f, start=last)))
    return parts


def trend(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    filters: TrendFilters,
    use_rollup: bool | None = None,
) -> TrendOut:
    """Per bucket and label (and context for competitors): count, conversations, rate, share.

    Whole UTC days are summed from trend_day and partial edge days grouped from the insight
    rows (windows with rep, deal or stage filters group insights throughout); both give the
    same numbers, and use_rollup=False forces the insight path.
    """
    by_context = kind == "competitor"
    rows: dict[tuple[str, str, str | None], tuple[int, int]] = {}
    denominators: dict[str, int] = {}
    for source, part in window_parts(filters, use_rollup=use_rollup):
        if source == "rollup":
            got = rollup_counts(
                session, tenant_id=tenant_id, kind=kind, f=part, by_context=by_context
            )
            per_bucket = rollup_conversations(session, tenant_id=tenant_id, f=part)
        else:
            got = insight_counts(
                session, tenant_id=tenant_id, kind=kind, f=part, by_context=by_context
            )
            per_bucket = conversation_counts(session, tenant_id=tenant_id, f=part)
        # The parts are disjoint in time and a conversation has one time: counts add up.
        for b, label, ctx, n, c in got:
            old = rows.get((b, label, ctx), (0, 0))
            rows[(b, label, ctx)] = (old[0] + n, old[1] + c)
        for b, n in per_bucket.items():
            denominators[b] = denominators.get(b, 0) + n
    days = buckets(filters.start, filters.end, filters.interval)
    found = rows
    series = sorted({(label, ctx) for _, label, ctx in rows}, key=lambda s: (s[0], s[1] or ""))
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
