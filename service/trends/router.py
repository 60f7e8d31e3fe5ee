"""GET /v1/trends/objections, /v1/trends/competitors and /v1/evidence, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from models.base import utcnow
from service.auth import TenantDep
from service.db import SessionDep
from service.errors import BadRequest
from service.trends.evidence import MAX_PAGE, evidence
from service.trends.params import TrendFilters, window
from service.trends.schemas import EvidencePage, TrendOut
from service.trends.service import trend

router = APIRouter(tags=["trends"])
Label = Annotated[str | None, Query(min_length=1, max_length=255)]
Format = Annotated[Literal["json", "csv"], Query()]
TREND_COLUMNS = (
    "bucket",
    "label",
    "context",
    "count",
    "conversations",
    "rate",
    "rate_low",
    "rate_high",
    "conversations_with",
    "share",
    "share_low",
    "share_high",
)
EVIDENCE_COLUMNS = (
    "insight_id",
    "kind",
    "label",
    "context",
    "occurred_at",
    "speaker",
    "start",
    "end",
    "confidence",
    "quote",
    "conversation_id",
    "conversation_kind",
    "deal_id",
    "deal_external_id",
    "deal_name",
    "rep_external_id",
    "team",
)


def csv_response(
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    *,
    filename: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """Rows as a CSV attachment (UTF-8, header line first)."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """The window and filters that every trend and evidence request shares."""

    start: str | None
    end: str | None
    team: str | None
    rep: str | None
    stage: str | None
    deal: str | None

    def filters(self, interval: str, *, label: str | None, context: str | None) -> TrendFilters:
        """Validated trend filters for this scope (400 on a bad window)."""
        frm, to, iv = window(self.start, self.end, interval, now=utcnow())
        return TrendFilters(
            start=frm,
            end=to,
            interval=iv,
            label=label,
            context=context,
            team=self.team,
            rep=self.rep,
            stage=self.stage,
            deal=self.deal,
        )


def _scope(
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    team: Label = None,
    rep: Label = None,
    stage: Label = None,
    deal: Label = None,
) -> Scope:
    return Scope(start=start, end=end, team=team, rep=rep, stage=stage, deal=deal)


ScopeDep = Annotated[Scope, Depends(_scope)]
Interval = Annotated[str, Query(max_length=10)]


def _trend_response(out: TrendOut, fmt: str, name: str) -> TrendOut | Response:
    if fmt == "csv":
        return csv_response(
            TREND_COLUMNS, (p.model_dump(mode="json") for p in out.points), filename=f"{name}.csv"
        )
    return out


@router.get("/v1/trends/objections", response_model=TrendOut, responses={400: {}})
def objection_trend(
    tenant: TenantDep,
    session: SessionDep,
    scope: ScopeDep,
    interval: Interval = "week",
    category: Label = None,
    format: Format = "json",
) -> TrendOut | Response:
    """Objections per bucket and category: count, conversations, rate with a 95% interval."""
    f = scope.filters(interval, label=category, context=None)
    out = trend(session, tenant_id=tenant.id, kind="objection", filters=f)
    return _trend_response(out, format, "objection-trend")


@router.get("/v1/trends/competitors", response_model=TrendOut, responses={400: {}})
def competitor_trend(
    tenant: TenantDep,
    session: SessionDep,
    scope: ScopeDep,
    interval: Interval = "week",
    competitor: Label = None,
    context: Label = None,
    format: Format = "json",
) -> TrendOut | Response:
    """Competitor mentions per bucket, competitor and context label, with rates."""
    f = scope.filters(interval, label=competitor, context=context)
    out = trend(session, tenant_id=tenant.id, kind="competitor", filters=f)
    return _trend_response(out, format, "competitor-trend")


@router.get("/v1/evidence", response_model=EvidencePage, responses={400: {}})
def get_evidence(
    tenant: TenantDep,
    session: SessionDep,
    scope: ScopeDep,
    category: Label = None,
    competitor: Label = None,
    context: Label = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    format: Format = "json",
) -> EvidencePage | Response:
    """The quotes behind a bar: one category or one competitor, newest first, paginated."""
    if (category is None) == (competitor is None):
        raise BadRequest("give exactly one of 'category' or 'competitor'", code="invalid_filter")
    if category is not None and context is not None:
        raise BadRequest("'context' applies to competitors only", code="invalid_filter")
    f = scope.filters("month", label=category or competitor, context=context)
    kind = "objection" if category is not None else "competitor"
    page = evidence(session, tenant_id=tenant.id, kind=kind, filters=f, limit=limit, cursor=cursor)
    if format == "csv":
        headers = {"X-Next-Cursor": page.next_cursor} if page.next_cursor else None
        return csv_response(
            EVIDENCE_COLUMNS,
            (i.model_dump(mode="json") for i in page.items),
            filename="evidence.csv",
            headers=headers,
        )
    return page
