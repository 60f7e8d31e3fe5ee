"""Deal board and deal page queries; never commits. Page handlers call these directly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, select
from sqlalchemy.orm import Session

from models import Conversation as C
from models import Deal, Tenant
from models.base import utcnow
from service.dbutil import tenant_row
from service.deals import counts
from service.deals import facts as f
from service.deals.latest import late
from service.deals.risk import DealFacts, FlagInputs, flag_codes
from service.deals.schemas import DealFilters, DealSummary, Owner, RiskCode
from service.deals.settings import RiskSettings, risk_settings


def tenant_risk(session: Session, *, tenant_id: uuid.UUID) -> RiskSettings:
    """The tenant's risk settings (defaults where unset)."""
    return risk_settings(session.get(Tenant, tenant_id))


def get_deal(session: Session, *, tenant_id: uuid.UUID, deal_id: str | uuid.UUID) -> Deal:
    """The tenant's deal by id; other tenants' ids and malformed ids are 404 alike."""
    return tenant_row(session, Deal, tenant_id=tenant_id, row_id=deal_id, what="deal")


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


@dataclass(frozen=True, slots=True)
class RiskWindows:
    """Where each time-windowed flag starts looking, for a given now."""

    objections: datetime
    competitors: datetime
    talk: datetime

    @classmethod
    def of(cls, cfg: RiskSettings, now: datetime) -> RiskWindows:
        """The windows the tenant's settings give."""
        return cls(
            objections=now - timedelta(days=cfg.objection_lookback_days),
            competitors=now - timedelta(days=cfg.competitor_days),
            talk=now - timedelta(days=cfg.talk_ratio_days),
        )


def deal_facts(
    session: Session, *, tenant_id: uuid.UUID, deal: Deal, cfg: RiskSettings, now: datetime
) -> DealFacts:
    """Everything one deal's explained flags need, evidence included (the deal page)."""
    key, t = [deal.external_id], tenant_id
    contact = f.contacts(session, tenant_id=t, deals=key).get(deal.external_id)
    if deal.status != "open":
        return DealFacts(contact=contact)  # closed deals carry no flags
    w = RiskWindows.of(cfg, now)
    objections = f.objection_states(
        session,
        tenant_id=t,
        deals=key,
        since=w.objections,
        categories=cfg.objection_categories,
        contact={deal.external_id: contact} if contact else {},
    )
    calls = talk_calls(session, tenant_id=t, external_id=deal.external_id, since=w.talk)
    return DealFacts(
        contact=contact,
        objections=objections.get(deal.external_id, []),
        competitors=f.active_competitors(session, tenant_id=t, deals=key, since=w.competitors).get(
            deal.external_id, []
        ),
        talk=f.talk_ratios(session, tenant_id=t, deals=key, since=w.talk).get(deal.external_id),
        talk_calls=[c for c in calls if c[2] > cfg.talk_ratio_max],
    )


_NO_CONTACT = f.ContactFact(conversations=0, last_at=None, last_contact_at=None, last_rep_at=None)


@dataclass
class BoardCache:
    """Per-request facts shared by every board list built in that request (the review page)."""

    inputs: dict[str, FlagInputs] = field(default_factory=dict)
    # Open objections of every open deal in the request's scope, when already counted.
    open_counts: dict[str, int] | None = None
    # Contact times (no last-contact ids) of deals already read.
    contacts: dict[str, f.ContactFact] = field(default_factory=dict)

    def contacts_of(self, session: Session, tenant_id: uuid.UUID, deals: list[str]) -> None:
        """Read the contact times of the deals not read yet."""
        missing = [d for d in deals if d not in self.contacts]
        if missing:
            got = f.contacts(session, tenant_id=tenant_id, deals=missing, with_last_id=False)
            self.contacts.update(got)
            # A deal with no conversations has no row: remember that too.
            self.contacts.update({d: _NO_CONTACT for d in missing if d not in got})


def board_inputs(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deals: list[str],
    open_deals: list[str],
    cfg: RiskSettings,
    now: datetime,
    cache: BoardCache | None = None,
) -> dict[str, FlagInputs]:
    """What the board rows' flag codes need, from grouped counts (no quotes read)."""
    cache = cache if cache is not None else BoardCache()
    cache.contacts_of(session, tenant_id, deals)
    contact = {d: cache.contacts[d] for d in deals}
    w = RiskWindows.of(cfg, now)
    t, cats = tenant_id, cfg.objection_categories
    open_counts = cache.open_counts
    if open_counts is None:
        open_counts = counts.open_objection_counts(
            session,
            tenant_id=t,
            deals=open_deals,
            since=w.objections,
            categories=cats,
            contact=contact,
        )
    rivals = counts.active_competitor_counts(
        session, tenant_id=t, deals=open_deals, since=w.competitors
    )
    talk = f.talk_ratios(session, tenant_id=t, deals=open_deals, since=w.talk)
    return {
        k: FlagInputs(
            contact=contact.get(k),
            open_objections=open_counts.get(k, 0),
            active_competitors=rivals.get(k, 0),
            talk=talk.get(k),
        )
        for k in deals
    }


def summary(
    deal: Deal, contact: f.ContactFact | None, codes: list[RiskCode], now: datetime
) -> DealSummary:
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
        last_contact_at=contact.last_contact_at if contact else None,
        conversations=contact.conversations if contact else 0,
        risks=codes,
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
    cache: BoardCache | None = None,
) -> list[DealSummary]:
    """Board rows of the deals matching conds, with their flags; risk keeps flagged deals only.

    cache holds what this request already computed (the review page shares one).
    """
    now = now or utcnow()
    cache = cache if cache is not None else BoardCache()
    cfg = tenant_risk(session, tenant_id=tenant_id)
    order = order_by if order_by is not None else (Deal.close_date.is_(None), Deal.close_date)
    q = select(Deal).where(*conds).order_by(*order, Deal.external_id)
    if risk is None:
        q = q.limit(limit)
    deals = list(session.execute(q).scalars())
    if risk == "open_objections":
        # Which deals carry the flag comes from grouped counts; the rest only for those shown.
        if cache.open_counts is None:
            cache.open_counts = counts.open_objection_counts(
                session,
                tenant_id=tenant_id,
                deals=[d.external_id for d in deals if d.status == "open"],
                since=now - timedelta(days=cfg.objection_lookback_days),
                categories=cfg.objection_categories,
            )
        known = cache.open_counts
        deals = [d for d in deals if known.get(d.external_id, 0) > 0][:limit]
    missing = [d for d in deals if d.external_id not in cache.inputs]
    cache.inputs.update(
        board_inputs(
            session,
            tenant_id=tenant_id,
            deals=[d.external_id for d in missing],
            open_deals=[d.external_id for d in missing if d.status == "open"],
            cfg=cfg,
            now=now,
            cache=cache,
        )
    )
    out: list[DealSummary] = []
    for deal in deals:
        inputs = cache.inputs.get(deal.external_id, FlagInputs())
        codes = flag_codes(deal, inputs, cfg, now)
        if risk is not None and risk not in codes:
            continue
        out.append(summary(deal, inputs.contact, codes, now))
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
