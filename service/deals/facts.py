"""Per-deal facts for risk flags, computed in SQL for one deal or a whole board at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from models import Conversation, Insight, TranscriptSegment
from service.deals.settings import ACTIVE_COMPETITOR_CONTEXTS

# Restricts a deal_external_id column to the deals in question (one deal, or a filtered board).
Scope = Callable[[Any], ColumnElement[bool]]


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
    """How many conversations a deal has and when the customer was last in touch."""

    conversations: int
    last_contact_at: datetime | None
    last_contact_id: uuid.UUID | None


def _quote(row: object) -> Quote:
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


def contacts(session: Session, *, tenant_id: uuid.UUID, scope: Scope) -> dict[str, ContactFact]:
    """Conversation counts and the last customer contact (a call, or an inbound email)."""
    c = Conversation
    contact = or_(c.kind == "call", c.direction == "inbound")
    ranked = (
        select(
            c.deal_external_id.label("deal"),
            c.id,
            c.occurred_at,
            func.count().over(partition_by=c.deal_external_id).label("n"),
            func.row_number()
            .over(
                partition_by=c.deal_external_id,
                order_by=(case((contact, 0), else_=1), c.occurred_at.desc(), c.id),
            )
            .label("rn"),
            case((contact, 1), else_=0).label("is_contact"),
        )
        .where(c.tenant_id == tenant_id, c.deal_external_id.is_not(None), scope(c.deal_external_id))
        .subquery()
    )
    out: dict[str, ContactFact] = {}
    for deal, cid, at, n, is_contact in session.execute(
        select(
            ranked.c.deal, ranked.c.id, ranked.c.occurred_at, ranked.c.n, ranked.c.is_contact
        ).where(ranked.c.rn == 1)
    ):
        out[deal] = ContactFact(int(n), at if is_contact else None, cid if is_contact else None)
    return out


def objection_states(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    scope: Scope,
    since: datetime | None,
    categories: list[str] | None,
) -> dict[str, list[ObjectionState]]:
    """Each customer objection category per deal, open or resolved at its latest raise.

    Open when nothing shows the rep answered it (no rep turn after it in the same call, no
    later call or outbound email on the deal), or when it was raised again in another
    conversation and nothing has happened on the deal since.
    """
    i = Insight
    conds = [
        i.tenant_id == tenant_id,
        i.kind == "objection",
        i.speaker != "rep",
        i.deal_external_id.is_not(None),
        scope(i.deal_external_id),
    ]
    if since is not None:
        conds.append(i.occurred_at >= since)
    if categories is not None:
        conds.append(i.label.in_(categories))
    part = (i.deal_external_id, i.label)
    ranked = (
        select(
            i.id,
            i.deal_external_id.label("deal"),
            i.label,
            i.conversation_id,
            i.utterance,
            i.occurred_at,
            i.quote,
            i.speaker,
            i.start_s,
            i.end_s,
            func.count().over(partition_by=part).label("times"),
            func.min(i.occurred_at).over(partition_by=part).label("first_at"),
            func.row_number()
            .over(
                partition_by=part, order_by=(i.occurred_at.desc(), i.utterance.desc(), i.id.desc())
            )
            .label("rn"),
        )
        .where(*conds)
        .subquery()
    )
    latest = select(ranked).where(ranked.c.rn == 1).subquery()
    other = aliased(Insight)
    again_conds = [
        other.tenant_id == tenant_id,
        other.kind == "objection",
        other.speaker != "rep",
        other.deal_external_id == latest.c.deal,
        other.label == latest.c.label,
        other.conversation_id != latest.c.conversation_id,
    ]
    if since is not None:
        again_conds.append(other.occurred_at >= since)
    raised_again = exists().where(*again_conds)
    rep_in_call = exists().where(
        TranscriptSegment.conversation_id == latest.c.conversation_id,
        TranscriptSegment.speaker == "rep",
        TranscriptSegment.idx > func.coalesce(latest.c.utterance, -1),
    )
    later = aliased(Conversation)
    later_base = [
        later.tenant_id == tenant_id,
        later.deal_external_id == latest.c.deal,
        later.occurred_at > latest.c.occurred_at,
    ]
    rep_later = exists().where(
        *later_base, or_(later.kind == "call", later.direction == "outbound")
    )
    anything_later = exists().where(*later_base)
    q = select(
        latest,
        raised_again.label("again"),
        or_(rep_in_call, rep_later).label("responded"),
        anything_later.label("later"),
    ).order_by(latest.c.deal, latest.c.label)
    out: dict[str, list[ObjectionState]] = {}
    for row in session.execute(q):
        m = row._mapping
        again, responded = bool(m["again"]), bool(m["responded"])
        is_open = not responded or (again and not bool(m["later"]))
        out.setdefault(m["deal"], []).append(
            ObjectionState(
                category=m["label"],
                open=is_open,
                raised_again=again,
                rep_responded=responded,
                times_raised=int(m["times"]),
                first_raised_at=m["first_at"],
                latest=_quote(row),
            )
        )
    return out


def active_competitors(
    session: Session, *, tenant_id: uuid.UUID, scope: Scope, since: datetime
) -> dict[str, list[CompetitorFact]]:
    """Competitors the customer mentioned as used, evaluated or compared since a time."""
    i = Insight
    part = (i.deal_external_id, i.label)
    ranked = (
        select(
            i.id,
            i.deal_external_id.label("deal"),
            i.label,
            i.conversation_id,
            i.occurred_at,
            i.quote,
            i.speaker,
            i.start_s,
            i.end_s,
            i.context,
            func.count().over(partition_by=part).label("n"),
            func.row_number()
            .over(partition_by=part, order_by=(i.occurred_at.desc(), i.id.desc()))
            .label("rn"),
        )
        .where(
            i.tenant_id == tenant_id,
            i.kind == "competitor",
            i.speaker != "rep",
            i.occurred_at >= since,
            i.context.in_(ACTIVE_COMPETITOR_CONTEXTS),
            i.deal_external_id.is_not(None),
            scope(i.deal_external_id),
        )
        .subquery()
    )
    out: dict[str, list[CompetitorFact]] = {}
    for row in session.execute(
        select(ranked).where(ranked.c.rn == 1).order_by(ranked.c.deal, ranked.c.n.desc())
    ):
        m = row._mapping
        out.setdefault(m["deal"], []).append(
            CompetitorFact(m["label"], int(m["n"]), m["context"] or "other", _quote(row))
        )
    return out


def talk_ratios(
    session: Session, *, tenant_id: uuid.UUID, scope: Scope, calls: int
) -> dict[str, tuple[float, int]]:
    """The rep's share of talk time over each deal's last analysed calls, and how many calls."""
    c = Conversation
    rep_s = cast(c.metrics["rep_talk_s"].as_float(), Float)
    cust_s = cast(c.metrics["customer_talk_s"].as_float(), Float)
    ranked = (
        select(
            c.deal_external_id.label("deal"),
            rep_s.label("rep_s"),
            cust_s.label("cust_s"),
            func.row_number()
            .over(partition_by=c.deal_external_id, order_by=(c.occurred_at.desc(), c.id))
            .label("rn"),
        )
        .where(
            c.tenant_id == tenant_id,
            c.kind == "call",
            c.status == "done",
            c.deal_external_id.is_not(None),
            scope(c.deal_external_id),
            rep_s.is_not(None),
        )
        .subquery()
    )
    total = func.sum(ranked.c.rep_s + ranked.c.cust_s)
    q = (
        select(ranked.c.deal, func.sum(ranked.c.rep_s) / total, func.count())
        .where(ranked.c.rn <= calls)
        .group_by(ranked.c.deal)
        .having(total > 0)
    )
    return {deal: (float(ratio), int(n)) for deal, ratio, n in session.execute(q)}


def one_deal(external_id: str) -> Scope:
    """A scope of exactly one deal."""
    return lambda col: col == external_id


def deals_in(external_ids: Any) -> Scope:
    """A scope of the given deals (a list of external ids, or a select of them)."""
    return lambda col: and_(col.is_not(None), col.in_(external_ids))
