"""The pipeline-review page (/review) and the evidence behind its numbers (/evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from models.base import utcnow
from service.db import SessionDep
from service.deals.review import review_data
from service.errors import BadRequest
from service.trends.evidence import evidence
from service.trends.params import TrendFilters, parse_when
from service.trends.service import trend
from service.web.deps import ViewerDep
from service.web.pages.figures import competitor_delta_chart, trend_chart
from service.web.pages.links import evidence_list_url
from service.web.pages.options import filter_options
from service.web.pages.params import Label, When, blank
from service.web.rendering import render

router = APIRouter(include_in_schema=False)
DEFAULT_PERIOD_DAYS = 7
TREND_WEEKS = 8
MAX_PERIOD_DAYS = 366


@dataclass(frozen=True, slots=True)
class Period:
    """The review's window [since, until) and the date of the next review."""

    since: datetime
    until: datetime
    next_review: date
    defaulted: bool

    @property
    def previous(self) -> tuple[datetime, datetime]:
        """The window of the same length just before."""
        return self.since - (self.until - self.since), self.since


def review_period(since: str | None, *, now: datetime) -> Period:
    """since defaults to 7 days ago (midnight UTC); the next review is one period after now."""
    start = parse_when(since, name="since")
    defaulted = start is None
    if start is None:
        start = datetime.combine(now.date() - timedelta(days=DEFAULT_PERIOD_DAYS), time(), UTC)
    if start >= now:
        raise BadRequest("'since' must be in the past", code="invalid_range")
    if now - start > timedelta(days=MAX_PERIOD_DAYS):
        raise BadRequest(f"a review covers at most {MAX_PERIOD_DAYS} days", code="range_too_long")
    # Same rule as review_data: deals closing before now + (now - since) are "closing".
    return Period(start, now, (now + (now - start)).date(), defaulted)


@router.get("/review")
def review_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    team: Label = None,
    rep: Label = None,
    since: When = None,
) -> HTMLResponse:
    """Wins, pipeline updates, obstacles and competitor updates, in the agenda's order."""
    now = utcnow()
    period = review_period(since, now=now)
    team, rep = blank(team), blank(rep)
    data = review_data(
        session,
        tenant_id=viewer.tenant_id,
        since=period.since,
        until=period.until,
        team=team,
        rep=rep,
        now=now,
    )
    trend_start = min(period.since, now - timedelta(weeks=TREND_WEEKS))
    tf = TrendFilters(start=trend_start, end=now, interval="week", team=team, rep=rep)
    objection_trend = trend(session, tenant_id=viewer.tenant_id, kind="objection", filters=tf)
    competitor_trend = trend(session, tenant_id=viewer.tenant_id, kind="competitor", filters=tf)
    prev_since, prev_until = period.previous
    return render(
        request,
        "review.html",
        {
            "r": data,
            "p": period,
            "team": team,
            "rep": rep,
            "since_value": period.since.date().isoformat(),
            "options": filter_options(session, tenant_id=viewer.tenant_id),
            "objection_chart": trend_chart(
                objection_trend,
                kind="objection",
                title="Customer objections per week, by category",
                team=team,
                rep=rep,
            ),
            "competitor_trend_chart": trend_chart(
                competitor_trend,
                kind="competitor",
                title="Competitor mentions per week",
                team=team,
                rep=rep,
                kind_of_chart="scatter",
            ),
            "competitor_chart": competitor_delta_chart(
                data.competitors, since=period.since, until=period.until, team=team, rep=rep
            ),
            "competitor_links": {
                c.name: (
                    evidence_list_url(
                        kind="competitor",
                        label=c.name,
                        start=period.since,
                        end=period.until,
                        team=team,
                        rep=rep,
                    ),
                    evidence_list_url(
                        kind="competitor",
                        label=c.name,
                        start=prev_since,
                        end=prev_until,
                        team=team,
                        rep=rep,
                    ),
                )
                for c in data.competitors
            },
        },
    )


@router.get("/evidence")
def evidence_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    kind: Literal["objection", "competitor"] = "objection",
    label: Label = None,
    context: Label = None,
    team: Label = None,
    rep: Label = None,
    deal: Label = None,
    start: Annotated[When, Query(alias="from")] = None,
    end: Annotated[When, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Every quote behind a number: newest first, each linked to its moment in the call."""
    now = utcnow()
    frm = parse_when(start, name="from") or now - timedelta(days=90)
    to = parse_when(end, name="to") or now
    if frm >= to:
        raise BadRequest("'from' must be before 'to'", code="invalid_range")
    filters = TrendFilters(
        start=frm,
        end=to,
        label=blank(label),
        context=blank(context),
        team=blank(team),
        rep=blank(rep),
        deal=blank(deal),
    )
    page = evidence(
        session, tenant_id=viewer.tenant_id, kind=kind, filters=filters, limit=50, cursor=cursor
    )
    more = None
    if page.next_cursor:
        params = dict(request.query_params)
        params["cursor"] = page.next_cursor
        more = params
    return render(
        request,
        "evidence.html",
        {"page": page, "kind": kind, "f": filters, "more": more},
    )
