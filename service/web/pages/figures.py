"""The charts of the pages, each point linked to the evidence behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from markupsafe import Markup

from service.deals.competitor_movement import CompetitorDelta
from service.deals.schemas import DealDetail
from service.trends.params import Interval, next_bucket
from service.trends.schemas import TrendOut
from service.web.charts import Series, chart_html, figure, reference_line
from service.web.pages.links import evidence_list_url, quote_url

# Published research puts close rates down once reps talk more than this share of a call.
TALK_LIMIT = 0.65


def talk_chart(d: DealDetail) -> Markup | None:
    """Rep talk share per call of the deal, against the 65% warning line."""
    points = [p for p in d.talk_metrics if p.rep_talk_ratio is not None]
    if not points:
        return None
    # One category per call ("29 Nov · 1"): a time axis over a single call shows milliseconds.
    x = [f"{p.occurred_at.day} {p.occurred_at:%b} · {n}" for n, p in enumerate(points, 1)]
    share = Series(
        "Rep talk share (%)",
        x,
        [round((p.rep_talk_ratio or 0.0) * 100, 1) for p in points],
        [quote_url(p.conversation_id) for p in points],
    )
    fig = figure([share], title="Rep talk share per call", kind="scatter", y_title="%")
    fig["layout"]["xaxis"]["type"] = "category"
    fig["layout"]["yaxis"]["range"] = [0, 100]
    fig["layout"]["showlegend"] = False
    reference_line(fig, y=TALK_LIMIT * 100, label="65%: close rates drop above this")
    return chart_html(fig, label="Rep talk share per call of this deal")


def _bucket_window(bucket: date, interval: Interval, trend: TrendOut) -> tuple[datetime, datetime]:
    """A bucket's [start, end) cut to the trend's window (the first and last may be partial)."""
    start = datetime.combine(bucket, time(), tzinfo=UTC)
    end = datetime.combine(next_bucket(bucket, interval), time(), tzinfo=UTC)
    return max(start, trend.start), min(end, trend.end)


def trend_chart(
    trend: TrendOut,
    *,
    kind: str,
    title: str,
    team: str | None,
    rep: str | None,
    top: int = 6,
    kind_of_chart: str = "bar",
) -> Markup | None:
    """Weekly counts per label (competitor contexts summed); a point opens its quotes."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in trend.points:
        counts[p.label][p.bucket.isoformat()] += p.count
    if not any(sum(v.values()) for v in counts.values()):
        return None
    ranked = sorted(counts, key=lambda label: (-sum(counts[label].values()), label))[:top]
    buckets = [b.isoformat() for b in trend.buckets]
    interval: Interval = trend.interval  # type: ignore[assignment]
    windows = [_bucket_window(b, interval, trend) for b in trend.buckets]
    series = []
    for label in ranked:
        links: list[str | None] = [
            evidence_list_url(kind=kind, label=label, start=a, end=b, team=team, rep=rep)
            for a, b in windows
        ]
        series.append(Series(label, buckets, [counts[label].get(b, 0) for b in buckets], links))
    fig = figure(series, title=title, kind=kind_of_chart, y_title="per week", barmode="stack")
    fig["layout"]["xaxis"]["type"] = "date"
    fig["layout"]["xaxis"]["tickformat"] = "%d %b"
    return chart_html(fig, label=title)


def competitor_delta_chart(
    competitors: Sequence[CompetitorDelta],
    *,
    since: datetime,
    until: datetime,
    team: str | None,
    rep: str | None,
    top: int = 8,
) -> Markup | None:
    """Mentions per competitor: the period before against this one."""
    shown = list(competitors)[:top]
    if not shown:
        return None
    prev = since - (until - since)
    names = [c.name for c in shown]

    def links(a: datetime, b: datetime) -> list[str | None]:
        return [
            evidence_list_url(kind="competitor", label=n, start=a, end=b, team=team, rep=rep)
            for n in names
        ]

    fig = figure(
        [
            Series("Previous period", names, [c.previous for c in shown], links(prev, since)),
            Series("This period", names, [c.current for c in shown], links(since, until)),
        ],
        title="Competitor mentions: this period against the one before",
        y_title="mentions",
    )
    fig["data"][0]["marker"]["color"] = "#b8c4d6"
    return chart_html(fig, label="Competitor mentions, this period against the previous one")
