"""The deal page: timeline, objections with their status, competitors, talk metrics, flags."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, String, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from models import Conversation, Deal, DealStageChange, Insight
from models.base import utcnow
from service.deals import facts as f
from service.deals.latest import late, quote_columns
from service.deals.risk import conversation_url, quote_link, risk_flags
from service.deals.schemas import (
    CompetitorOut,
    DealDetail,
    EvidenceLink,
    ObjectionOut,
    StageChangeOut,
    TalkPoint,
    TimelineItem,
)
from service.deals.service import deal_facts, get_deal, summary, tenant_risk

# A literal, not a bind parameter: PostgreSQL must see one expression in SELECT and GROUP BY.
OTHER = literal_column("'other'", String)

EVIDENCE_PER_ITEM = 20


def deal_detail(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deal_id: str | uuid.UUID,
    now: datetime | None = None,
) -> DealDetail:
    """Everything about one deal; 404 for other tenants' and unknown ids."""
    now = now or utcnow()
    deal = get_deal(session, tenant_id=tenant_id, deal_id=deal_id)
    cfg = tenant_risk(session, tenant_id=tenant_id)
    facts = deal_facts(session, tenant_id=tenant_id, deal=deal, cfg=cfg, now=now)
    flags = risk_flags(deal, facts, cfg, now)
    head = summary(deal, facts.contact, [fl.code for fl in flags], now)
    active = {c.name for c in facts.competitors}
    return DealDetail(
        **head.model_dump(),
        playbook_experiment=deal.playbook_experiment,
        playbook_variant=deal.playbook_variant,
        stage_history=stage_history(session, deal=deal),
        timeline=timeline(session, tenant_id=tenant_id, external_id=deal.external_id),
        objections=objections(session, tenant_id=tenant_id, external_id=deal.external_id),
        competitors=competitors(
            session,
            tenant_id=tenant_id,
            external_id=deal.external_id,
            active=active,
        ),
        talk_metrics=talk_metrics(session, tenant_id=tenant_id, external_id=deal.external_id),
        risk_flags=flags,
    )


def stage_history(session: Session, *, deal: Deal) -> list[StageChangeOut]:
    """The deal's stage moves, oldest first."""
    rows = session.execute(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal.id)
        .order_by(DealStageChange.changed_at, DealStageChange.id)
    ).scalars()
    return [
        StageChangeOut(from_stage=r.from_stage, to_stage=r.to_stage, changed_at=r.changed_at)
        for r in rows
    ]


def timeline(session: Session, *, tenant_id: uuid.UUID, external_id: str) -> list[TimelineItem]:
    """The deal's calls and emails, oldest first, with their insight counts."""
    i = Insight
    counts = (
        select(
            i.conversation_id,
            func.sum(case((i.kind == "objection", 1), else_=0)).label("obj"),
            func.sum(case((i.kind == "competitor", 1), else_=0)).label("comp"),
        )
        .where(i.tenant_id == tenant_id, i.deal_external_id == external_id)
        .group_by(i.conversation_id)
        .subquery()
    )
    c = Conversation
    rows = session.execute(
        select(c, counts.c.obj, counts.c.comp)
        .outerjoin(counts, counts.c.conversation_id == c.id)
        .where(c.tenant_id == tenant_id, c.deal_external_id == external_id)
        .order_by(c.occurred_at, c.id)
    )
    out: list[TimelineItem] = []
    for conv, obj, comp in rows:
        email = (conv.meta or {}).get("email") or {}
        out.append(
            TimelineItem(
                conversation_id=conv.id,
                kind=conv.kind,
                occurred_at=conv.occurred_at,
                direction=conv.direction,
                status=conv.status,
                rep_external_id=conv.rep_external_id,
                duration=conv.duration_s,
                subject=email.get("subject") if isinstance(email, dict) else None,
                objections=int(obj or 0),
                competitor_mentions=int(comp or 0),
                url=conversation_url(conv.id),
            )
        )
    return out


def _evidence(
    session: Session, *, tenant_id: uuid.UUID, external_id: str, kind: str
) -> dict[str, list[EvidenceLink]]:
    """The latest quotes per label of one kind on the deal (capped per label)."""
    i = Insight
    ranked = (
        select(
            *quote_columns(i),
            i.label,
            func.row_number()
            .over(partition_by=i.label, order_by=(i.occurred_at.desc(), i.id.desc()))
            .label("rn"),
        )
        .where(
            i.tenant_id == tenant_id,
            i.deal_external_id == external_id,
            i.kind == kind,
            *((i.speaker != "rep",) if kind == "objection" else ()),
        )
        .subquery()
    )
    out: dict[str, list[EvidenceLink]] = {}
    for row in session.execute(
        select(ranked).where(ranked.c.rn <= EVIDENCE_PER_ITEM).order_by(ranked.c.label, ranked.c.rn)
    ):
        out.setdefault(row.label, []).append(quote_link(f.quote_of(row)))
    return out


def objections(session: Session, *, tenant_id: uuid.UUID, external_id: str) -> list[ObjectionOut]:
    """Every category the customer raised on the deal, open or resolved, with the quotes."""
    i = Insight
    convs = dict(
        session.execute(
            select(i.label, func.count(func.distinct(i.conversation_id)))
            .where(
                i.tenant_id == tenant_id,
                i.deal_external_id == external_id,
                i.kind == "objection",
                i.speaker != "rep",
            )
            .group_by(i.label)
        ).all()
    )
    states = f.objection_states(
        session, tenant_id=tenant_id, deals=[external_id], since=None, categories=None
    ).get(external_id, [])
    quotes = _evidence(session, tenant_id=tenant_id, external_id=external_id, kind="objection")
    out: list[ObjectionOut] = []
    for s in states:
        reasons: list[Literal["raised_again", "no_rep_response"]] = []
        if s.open and s.raised_again:
            reasons.append("raised_again")
        if not s.rep_responded:
            reasons.append("no_rep_response")
        out.append(
            ObjectionOut(
                category=s.category,
                status="open" if s.open else "resolved",
                reasons=reasons,
                times_raised=s.times_raised,
                conversations=int(convs.get(s.category, 1)),
                first_raised_at=s.first_raised_at,
                last_raised_at=s.latest.occurred_at,
                evidence=quotes.get(s.category, []),
            )
        )
    out.sort(key=lambda o: (o.status != "open", -o.last_raised_at.timestamp()))
    return out


def competitors(
    session: Session, *, tenant_id: uuid.UUID, external_id: str, active: set[str]
) -> list[CompetitorOut]:
    """Competitors mentioned on the deal, with context counts; active ones first."""
    i = Insight
    rows = session.execute(
        select(
            i.label,
            func.coalesce(i.context, OTHER),
            func.count(),
            func.sum(case((i.speaker == "customer", 1), else_=0)),
            func.min(i.occurred_at),
            func.max(i.occurred_at),
        )
        .where(i.tenant_id == tenant_id, i.deal_external_id == external_id, i.kind == "competitor")
        .group_by(i.label, func.coalesce(i.context, OTHER))
    ).all()
    quotes = _evidence(session, tenant_id=tenant_id, external_id=external_id, kind="competitor")
    by_name: dict[str, CompetitorOut] = {}
    for name, ctx, n, cust, first, last in rows:
        e = by_name.get(name)
        if e is None:
            e = by_name[name] = CompetitorOut(
                name=name,
                mentions=0,
                customer_mentions=0,
                contexts={},
                first_mentioned_at=first,
                last_mentioned_at=last,
                active=name in active,
                evidence=quotes.get(name, []),
            )
        e.mentions += int(n)
        e.customer_mentions += int(cust or 0)
        e.contexts[ctx] = int(n)
        e.first_mentioned_at = min(e.first_mentioned_at, first)
        e.last_mentioned_at = max(e.last_mentioned_at, last)
    out = list(by_name.values())
    out.sort(key=lambda c: (not c.active, -c.mentions, c.name))
    return out


def talk_metrics(session: Session, *, tenant_id: uuid.UUID, external_id: str) -> list[TalkPoint]:
    """Talk metrics of the deal's analysed calls, oldest first."""
    c = Conversation

    def metric(key: str) -> Any:
        return cast(c.metrics[key].as_float(), Float)

    rows = session.execute(
        select(
            c.id,
            c.occurred_at,
            metric("rep_talk_ratio"),
            metric("longest_rep_monologue_s"),
            metric("rep_questions_per_min"),
            metric("interactivity_per_min"),
        )
        .where(
            c.tenant_id == tenant_id,
            c.deal_external_id == external_id,
            late(c.kind) == "call",
            late(c.status) == "done",
        )
        .order_by(c.occurred_at, c.id)
    )
    return [
        TalkPoint(
            conversation_id=cid,
            occurred_at=at,
            rep_talk_ratio=r,
            longest_rep_monologue_s=m,
            rep_questions_per_min=q,
            interactivity_per_min=x,
        )
        for cid, at, r, m, q, x in rows
    ]
