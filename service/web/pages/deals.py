"""The deal board (/deals, with filters) and the deal page (/deals/{id})."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.db import SessionDep
from service.deals.detail import deal_detail
from service.deals.schemas import RISK_CODES, DealFilters, RiskCode
from service.deals.service import list_deals
from service.web.deps import ViewerDep
from service.web.pages.figures import talk_chart
from service.web.pages.options import filter_options, latest_next_step
from service.web.pages.params import Label, blank
from service.web.rendering import render

router = APIRouter(include_in_schema=False)

RISK_TITLES = {
    "stalled": "Stalled",
    "no_contact": "No recent contact",
    "close_date_passed": "Close date passed",
    "active_competitor": "Competitor in play",
    "open_objections": "Open objections",
    "talk_ratio_high": "Rep talks too much",
}


@router.get("/deals")
def deals_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    team: Label = None,
    rep: Label = None,
    stage: Label = None,
    status: Literal["open", "won", "lost", ""] | None = "open",
    risk: RiskCode | Literal[""] | None = None,
) -> HTMLResponse:
    """Every deal matching the filters, soonest close date first, with its warning signs."""
    filters = DealFilters(
        team=blank(team),
        rep=blank(rep),
        stage=blank(stage),
        status=blank(status),
        risk=blank(risk),
    )
    deals = list_deals(session, tenant_id=viewer.tenant_id, filters=filters)
    return render(
        request,
        "deals.html",
        {
            "deals": deals,
            "f": filters,
            "options": filter_options(session, tenant_id=viewer.tenant_id),
            "risk_codes": RISK_CODES,
            "risk_titles": RISK_TITLES,
        },
    )


@router.get("/deals/{deal_id}")
def deal_page(
    deal_id: str, request: Request, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    """One deal: what happened, what is next, what stands in the way, what looks risky."""
    d = deal_detail(session, tenant_id=viewer.tenant_id, deal_id=deal_id)
    return render(
        request,
        "deal.html",
        {
            "d": d,
            "next_step": latest_next_step(
                session, tenant_id=viewer.tenant_id, external_id=d.external_id
            ),
            "talk_chart": talk_chart(d),
            "risk_titles": RISK_TITLES,
        },
    )
