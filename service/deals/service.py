"""Deal board and deal page queries; never commits. Page handlers call these directly."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, select
from sqlalchemy.orm import Session

from models import Conversation as C
from models import Deal, Tenant
from models.base import utcnow
from service.deals import facts as f
from service.deals.latest import late
from service.deals.risk import DealFacts, risk_flags
from service.deals.schemas import DealFilters, DealSummary, Owner, RiskFlag
from service.deals.settings import RiskSettings, risk_settings
from service.errors import NotFound


def tenant_risk(session: Session, *, tenant_id: uuid.UUID) -> RiskSettings:
    """The tenant's risk settings (defaults where unset)."""
    return risk_settings(session.get(Tenant, tenant_id))


def get_deal(session: Session, *, tenant_id: uuid.UUID, deal_id: str | uuid.UUID) -> Deal:
    """The tenant's deal by id; other tenants' ids and malformed ids are 404 alike."""
    try:
        did = deal_id if isinstance(deal_id, uuid.UUID) else uuid.UUID(deal_id)
    except ValueError:
        raise NotFound("no such deal") from None
    deal = session.execute(
        select(Deal).where(Deal.id == did, Deal.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if deal is None:
        raise NotFound("no such deal")
    return deal


def filter_conditions(
    *, tenant_id: uuid.UUID, filters: DealFilters, cfg: RiskSettings, now: datetime
) -> list[ColumnElement[bool]]:
    """SQL conditions for the list filters (the two flags that are plain columns too)."""
    conds: list[ColumnElement[bool]] = [Deal.tenant_id == tenant_id]
    if filters.team is not None:
        conds.append(Deal.team == filters.team)
    if filters.rep is not None:
        conds.append(Deal.owner_external_id == filters.rep)
    if filters.stage is not None:
        conds.append(Deal.stage == filters.stage)
    if filters.status is not None:
        conds.append(Deal.status == filters.status)
    if filters.risk is not None:
        conds.append(Deal.status == "open")
    if filters.risk == "stalled":
        # Exactly the flag's rule: more than N whole days in the stage.
        conds.append(Deal.stage_entered_at <= now - timedelta(days=cfg.stalled_days + 1))
    if filters.risk == "close_date_passed":
        conds.append(Deal.close_date < now.date())
    return conds


def board_facts(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deals: list[str],
    open_deals: list[str],
    cfg: RiskSettings,
    now: datetime,
) -> dict[str, DealFacts]:
    """Risk facts of the given deals (flags only for the open ones): a few grouped queries."""
    contacts = f.contacts(session, tenant_id=tenant_id, deals=deals)
    objections = f.objection_states(
        session,
        tenant_id=tenant_id,
        deals=open_deals,
        since=now - timedelta(days=cfg.objection_lookback_days),
        categories=cfg.objection_categories,
        contact=contacts,
    )
    competitors = f.active_competitors(
        session,
        tenant_id=tenant_id,
        deals=open_deals,
        since=now - timedelta(days=cfg.competitor_days),
    )
    talk = f.talk_ratios(
        session,
        tenant_id=tenant_id,
        deals=open_deals,
        since=now - timedelta(days=cfg.talk_ratio_days),
    )
    return {
        k: DealFacts(
            contact=contacts.get(k),
            objections=objections.get(k, []),
            competitors=competitors.get(k, []),
            talk=talk.get(k),
        )
        for k in deals
    }


def summary(deal: Deal, facts: DealFacts, flags: list[RiskFlag], now: datetime) -> DealSummary:
    """The board row of a deal."""
    return DealSummary(
        id=deal.id,
        external_id=deal.external_id,
        name=deal.name,
        stage=deal.stage,
        amount=deal.amount,
        currency=deal.currency,
        close_date=deal.close_date,
        owner=(
            Owner(external_id=deal.owner_external_id, name=deal.owner_name)
            if deal.owner_external_id
            else None
        ),
        team=deal.team,
        status=deal.status,
        crm_synced=deal.crm_updated_at is not None,
        stage_entered_at=deal.stage_entered_at,
        days_in_stage=(
            max(0, (now - deal.stage_entered_at).days) if deal.stage_entered_at else None
        ),
        last_contact_at=facts.contact.last_contact_at if facts.contact else None,
        conversations=facts.contact.conversations if facts.contact else 0,
        risks=[fl.code for fl in flags],
        closed_at=deal.closed_at,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


def summaries(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    conds: list[ColumnElement[bool]],
    order_by: Any = None,
    limit: int = 500,
    risk: str | None = None,
    now: datetime | None = None,
    cache: dict[str, DealFacts] | None = None,
) -> list[DealSummary]:
    """Board rows of the deals matching conds, with their flags; risk keeps flagged deals only.

    cache holds facts already computed in this request (the review page shares one).
    """
    now = now or utcnow()
    cfg = tenant_risk(session, tenant_id=tenant_id)
    order = order_by if order_by is not None else (Deal.close_date.is_(None), Deal.close_date)
    q = select(Deal).where(*conds).order_by(*order, Deal.external_id)
    if risk is None:
        q = q.limit(limit)
    deals = list(session.execute(q).scalars())
    if risk == "open_objections":
        # Which deals carry the flag comes from grouped counts; facts only for those shown.
        counts = f.open_objection_counts(
            session,
            tenant_id=tenant_id,
            deals=[d.external_id for d in deals if d.status == "open"],
            since=now - timedelta(days=cfg.objection_lookback_days),
            categories=cfg.objection_categories,
        )
        deals = [d for d in deals if counts.get(d.external_id, 0) > 0][:limit]
    facts = cache if cache is not None else {}
    missing = [d for d in deals if d.external_id not in facts]
    facts.update(
        board_facts(
            session,
            tenant_id=tenant_id,
            deals=[d.external_id for d in missing],
            open_deals=[d.external_id for d in missing if d.status == "open"],
            cfg=cfg,
            now=now,
        )
    )
    out: list[DealSummary] = []
    for deal in deals:
        df = facts.get(deal.external_id, DealFacts())
        flags = risk_flags(deal, df, cfg, now)
        if risk is not None and risk not in {fl.code for fl in flags}:
            continue
        out.append(summary(deal, df, flags, now))
        if len(out) >= limit:
            break
    return out


def list_deals(
    session: Session, *, tenant_id: uuid.UUID, filters: DealFilters, now: datetime | None = None
) -> list[DealSummary]:
    """The deal board: deals matching the filters, soonest close date first, with risk flags."""
    now = now or utcnow()
    cfg = tenant_risk(session, tenant_id=tenant_id)
    conds = filter_conditions(tenant_id=tenant_id, filters=filters, cfg=cfg, now=now)
    return summaries(
        session, tenant_id=tenant_id, conds=conds, limit=filters.limit, risk=filters.risk, now=now
    )


def talk_calls(
    session: Session, *, tenant_id: uuid.UUID, external_id: str, since: datetime
) -> list[tuple[uuid.UUID, datetime, float]]:
    """The deal's analysed calls since a time with the rep's talk ratio, newest first."""
    ratio = cast(C.metrics["rep_talk_ratio"].as_float(), Float)
    rows = session.execute(
        select(C.id, C.occurred_at, ratio)
        .where(
            C.tenant_id == tenant_id,
            C.deal_external_id == external_id,
            late(C.occurred_at) >= since,
            late(C.kind) == "call",
            late(C.status) == "done",
            ratio.is_not(None),
        )
        .order_by(C.occurred_at.desc(), C.id)
        .limit(100)
    )
    return [(cid, at, float(r)) for cid, at, r in rows]
