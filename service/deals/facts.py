"""Per-deal facts for risk flags, computed in SQL for one deal or a whole board at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from models import Conversation, Insight
from service.deals.latest import chunks, late, latest_rows, utc
from service.deals.settings import ACTIVE_COMPETITOR_CONTEXTS


@dataclass(frozen=True, slots=True)
class Quote:
    """One insight behind a fact."""

    insight_id: int
    conversation_id: uuid.UUID
    occurred_at: datetime
    quote: str
    speaker: str
    start: float | None
    end: float | None


@dataclass(frozen=True, slots=True)
class ObjectionState:
    """Where one objection category stands on a deal, judged at its latest raise."""

    category: str
    open: bool
    raised_again: bool
    rep_responded: bool
    times_raised: int
    first_raised_at: datetime
    latest: Quote


@dataclass(frozen=True, slots=True)
class CompetitorFact:
    """A competitor the customer mentioned in an active context recently."""

    name: str
    mentions: int
    contexts: str
    latest: Quote


@dataclass(frozen=True, slots=True)
class ContactFact:
    """How many conversations a deal has, when the customer and the rep were last in touch."""

    conversations: int
    last_at: datetime | None
    last_contact_at: datetime | None
    last_rep_at: datetime | None
    last_contact_id: uuid.UUID | None = None


def quote_of(row: object) -> Quote:
    """The Quote in a row selected with latest.quote_columns."""
    r = row._mapping  # type: ignore[attr-defined]
    return Quote(
        insight_id=int(r["id"]),
        conversation_id=r["conversation_id"],
        occurred_at=r["occurred_at"],
        quote=r["quote"],
        speaker=r["speaker"],
        start=r["start_s"],
        end=r["end_s"],
    )


def contacts(
    session: Session, *, tenant_id: uuid.UUID, deals: Sequence[str], with_last_id: bool = True
) -> dict[str, ContactFact]:
    """Per deal: conversations, the last one, the last customer contact and the last rep touch.

    Customer contact is a call or an inbound email; a rep touch is a call or an outbound email.
    One grouped pass over the covering (tenant, deal, occurred_at, kind, direction) index;
    with_last_id=False leaves out the last contact's id (the times alone judge objections).
    """
    c = Conversation
    contact = or_(c.kind == "call", c.direction == "inbound")
    rep_side = or_(c.kind == "call", c.direction == "outbound")
    out: dict[str, ContactFact] = {}
    for part in chunks(deals):
        grouped = (
            select(
                c.deal_external_id.label("deal"),
                func.count().label("n"),
                func.max(c.occurred_at).label("last_at"),
                func.max(case((contact, c.occurred_at))).label("contact_at"),
                func.max(case((rep_side, c.occurred_at))).label("rep_at"),
            )
            .where(c.tenant_id == tenant_id, c.deal_external_id.in_(part))
            .group_by(c.deal_external_id)
            .subquery()
        )
        # The id of each deal's last customer contact. SQLite: a correlated ORDER BY ... LIMIT 1
        # per deal, answered from the (tenant, deal, occurred_at) index with or without table
        # statistics (a join here made SQLite without ANALYZE scan all conversations).
        c2 = aliased(Conversation)
        last_id: Any = (
            select(c2.id)
            .where(
                c2.tenant_id == tenant_id,
                c2.deal_external_id == grouped.c.deal,
                or_(c2.kind == "call", c2.direction == "inbound"),
            )
            .order_by(c2.occurred_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        if not with_last_id:
            last_id = None
            base = select(grouped)
        elif session.get_bind().dialect.name == "postgresql":
            # PostgreSQL: a join on the group's last contact time (planned from statistics).
            first = (
                # min() has no uuid version in PostgreSQL: any one of ties will do, as text.
                select(
                    c.deal_external_id.label("deal"),
                    func.min(cast(c.id, String)).label("cid"),
                )
                .join(
                    grouped,
                    and_(
                        c.deal_external_id == grouped.c.deal,
                        c.occurred_at == grouped.c.contact_at,
                    ),
                )
                .where(c.tenant_id == tenant_id, contact)
                .group_by(c.deal_external_id)
                .subquery()
            )
            last_id = first.c.cid
            base = select(grouped).outerjoin(first, first.c.deal == grouped.c.deal)
        else:
            base = select(grouped)
        rows = session.execute(
            base.with_only_columns(
                grouped.c.deal,
                grouped.c.n,
                grouped.c.last_at,
                grouped.c.contact_at,
                grouped.c.rep_at,
                last_id if last_id is not None else literal(None),
            )
        ).all()
        for deal, n, last_at, contact_at, rep_at, raw_id in rows:
            cid = uuid.UUID(str(raw_id)) if raw_id is not None else None
            out[deal] = ContactFact(
                conversations=int(n),
                last_at=utc(last_at),
                last_contact_at=utc(contact_at),
                last_rep_at=utc(rep_at),
                last_contact_id=cid if contact_at is not None else None,
            )
    return out


def raised_conditions(
    tenant_id: uuid.UUID,
    deals: Sequence[str],
    *,
    since: datetime | None,
    categories: Sequence[str] | None,
) -> list[ColumnElement[bool]]:
    """Conditions for customer (non-rep) objections on these deals, in the window asked for."""
    i = Insight
    conds: list[ColumnElement[bool]] = [
        i.tenant_id == tenant_id,
        i.deal_external_id.in_(deals),
        i.kind == "objection",
        i.speaker != "rep",
    ]
    if since is not None:
        conds.append(late(i.occurred_at) >= since)
    if categories is not None:
        conds.append(i.label.in_(categories))
    return conds


def objection_states(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deals: Sequence[str],
    since: datetime | None,
    categories: list[str] | None,
    contact: dict[str, ContactFact] | None = None,
) -> dict[str, list[ObjectionState]]:
    """Each customer objection category per deal, open or resolved at its latest raise.

    Open when nothing shows the rep answered it (no rep turn after it in the same call, no
    later call or outbound email on the deal), or when it was raised in more than one
    conversation and nothing has happened on the deal since its latest raise.
    """
    i = Insight
    contact = (
        contact if contact is not None else contacts(session, tenant_id=tenant_id, deals=deals)
    )
    out: dict[str, list[ObjectionState]] = {}
    for part in chunks(deals):
        conds = raised_conditions(tenant_id, part, since=since, categories=categories)
        grouped = (
            select(
                i.deal_external_id.label("deal"),
                i.label.label("label"),
                func.count().label("n"),
                func.min(i.occurred_at).label("first_at"),
                func.max(i.occurred_at).label("last_at"),
            )
            .where(*conds)
            .group_by(i.deal_external_id, i.label)
            .subquery()
        )
        latest = latest_rows(
            session,
            tenant_id=tenant_id,
            kind="objection",
            grouped=grouped,
            with_rep_answer=True,
            deals=part,
        )
        for (deal, label), row in sorted(latest.items()):
            rep_after, n = bool(row.rep_after), int(row.n)
            first_at, last_at = utc(row.first_at), row.occurred_at
            assert first_at is not None
            c = contact.get(deal)
            later_rep = c is not None and c.last_rep_at is not None and c.last_rep_at > last_at
            anything_later = c is not None and c.last_at is not None and c.last_at > last_at
            responded = rep_after or later_rep
            again = first_at < last_at
            out.setdefault(deal, []).append(
                ObjectionState(
                    category=label,
                    open=not responded or (again and not anything_later),
                    raised_again=again,
                    rep_responded=responded,
                    times_raised=n,
                    first_raised_at=first_at,
                    latest=quote_of(row),
                )
            )
    return out


def active_mention_conditions(
    tenant_id: uuid.UUID, deals: Sequence[str], *, since: datetime
) -> list[ColumnElement[bool]]:
    """Conditions for customer competitor mentions in an active context on these deals."""
    i = Insight
    return [
        i.tenant_id == tenant_id,
        i.deal_external_id.in_(deals),
        i.kind == "competitor",
        i.speaker != "rep",
        late(i.occurred_at) >= since,
        i.context.in_(ACTIVE_COMPETITOR_CONTEXTS),
    ]


def active_competitors(
    session: Session, *, tenant_id: uuid.UUID, deals: Sequence[str], since: datetime
) -> dict[str, list[CompetitorFact]]:
    """Competitors the customer mentioned as used, evaluated or compared since a time."""
    i = Insight
    out: dict[str, list[CompetitorFact]] = {}
    for part in chunks(deals):
        grouped = (
            select(
                i.deal_external_id.label("deal"),
                i.label.label("label"),
                func.count().label("n"),
                func.max(i.occurred_at).label("last_at"),
            )
            .where(*active_mention_conditions(tenant_id, part, since=since))
            .group_by(i.deal_external_id, i.label)
            .subquery()
        )
        latest = latest_rows(
            session,
            tenant_id=tenant_id,
            kind="competitor",
            grouped=grouped,
            extra=lambda e: [e.context.in_(ACTIVE_COMPETITOR_CONTEXTS)],
            deals=part,
        )
        for (deal, label), row in sorted(latest.items(), key=lambda kv: (kv[0][0], -kv[1].n)):
            out.setdefault(deal, []).append(
                CompetitorFact(label, int(row.n), row.context or "other", quote_of(row))
            )
    return out


def talk_ratios(
    session: Session, *, tenant_id: uuid.UUID, deals: Sequence[str], since: datetime
) -> dict[str, tuple[float, int]]:
    """The rep's share of talk time over each deal's analysed calls since a time, and the count."""
    c = Conversation
    rep_s = cast(c.metrics["rep_talk_s"].as_float(), Float)
    cust_s = cast(c.metrics["customer_talk_s"].as_float(), Float)
    total = func.sum(rep_s + cust_s)
    out: dict[str, tuple[float, int]] = {}
    for part in chunks(deals):
        q = (
            select(c.deal_external_id, func.sum(rep_s) / total, func.count())
            .where(
                c.tenant_id == tenant_id,
                c.deal_external_id.in_(part),
                late(c.occurred_at) >= since,
                late(c.kind) == "call",
                late(c.status) == "done",
                rep_s.is_not(None),
            )
            .group_by(c.deal_external_id)
            .having(total > 0)
        )
        out.update({str(deal): (float(ratio), int(n)) for deal, ratio, n in session.execute(q)})
    return out
