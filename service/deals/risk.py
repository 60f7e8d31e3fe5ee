"""Risk flags of open deals, each with a sentence saying why and links to its evidence."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import Deal
from service.deals.facts import CompetitorFact, ContactFact, ObjectionState, Quote
from service.deals.schemas import EvidenceLink, RiskCode, RiskFlag
from service.deals.settings import RiskSettings


@dataclass(frozen=True, slots=True)
class DealFacts:
    """Everything the flags of one deal are computed from."""

    contact: ContactFact | None = None
    objections: list[ObjectionState] = field(default_factory=list)
    competitors: list[CompetitorFact] = field(default_factory=list)
    talk: tuple[float, int] | None = None
    talk_calls: list[tuple[uuid.UUID, datetime, float]] = field(default_factory=list)


def conversation_url(conversation_id: uuid.UUID) -> str:
    """Where the API serves a conversation with its transcript and insights."""
    return f"/v1/conversations/{conversation_id}"


def quote_link(q: Quote) -> EvidenceLink:
    """Evidence pointing at one insight's quote."""
    return EvidenceLink(
        kind="insight",
        conversation_id=q.conversation_id,
        insight_id=q.insight_id,
        occurred_at=q.occurred_at,
        quote=q.quote,
        speaker=q.speaker,
        start=q.start,
        end=q.end,
        url=conversation_url(q.conversation_id),
    )


def _days(delta: timedelta) -> int:
    return max(0, delta.days)


@dataclass(frozen=True, slots=True)
class FlagInputs:
    """What deciding a deal's flag codes needs: counts and times, no evidence rows."""

    contact: ContactFact | None = None
    open_objections: int = 0
    active_competitors: int = 0
    talk: tuple[float, int] | None = None

    @classmethod
    def of(cls, facts: DealFacts) -> FlagInputs:
        """The inputs a full set of facts implies."""
        return cls(
            contact=facts.contact,
            open_objections=sum(1 for o in facts.objections if o.open),
            active_competitors=len(facts.competitors),
            talk=facts.talk,
        )


def flag_codes(deal: Deal, facts: FlagInputs, cfg: RiskSettings, now: datetime) -> list[RiskCode]:
    """The codes of the flags an open deal carries now, in display order; closed deals none.

    The one place each rule is decided: risk_flags explains exactly these codes.
    """
    if deal.status != "open":
        return []
    codes: list[RiskCode] = []
    if deal.stage_entered_at is not None and _days(now - deal.stage_entered_at) > cfg.stalled_days:
        codes.append("stalled")
    last = facts.contact.last_contact_at if facts.contact else None
    quiet_since = last if last is not None else deal.created_at
    if _days(now - quiet_since) > cfg.no_contact_days:
        codes.append("no_contact")
    if deal.close_date is not None and deal.close_date < now.date():
        codes.append("close_date_passed")
    if facts.active_competitors:
        codes.append("active_competitor")
    if facts.open_objections:
        codes.append("open_objections")
    if facts.talk is not None and facts.talk[0] > cfg.talk_ratio_max:
        codes.append("talk_ratio_high")
    return codes


def risk_flags(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> list[RiskFlag]:
    """The flags an open deal carries now, each explained with its evidence; closed deals none."""
    codes = flag_codes(deal, FlagInputs.of(facts), cfg, now)
    return [_EXPLAIN[code](deal, facts, cfg, now) for code in codes]


def _stalled(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    assert deal.stage_entered_at is not None
    days = _days(now - deal.stage_entered_at)
    return RiskFlag(
        code="stalled",
        title="Stalled in stage",
        explanation=(
            f"In stage {deal.stage!r} for {days} days (since "
            f"{deal.stage_entered_at.date().isoformat()}), longer than the "
            f"{cfg.stalled_days}-day limit."
        ),
        evidence=[
            EvidenceLink(
                kind="stage_change",
                occurred_at=deal.stage_entered_at,
                note=f"entered {deal.stage!r}",
            )
        ],
    )


def _no_contact(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    contact = facts.contact
    last = contact.last_contact_at if contact else None
    if last is None:
        return RiskFlag(
            code="no_contact",
            title="No customer contact",
            explanation=(
                f"No call or customer email recorded since the deal appeared "
                f"{_days(now - deal.created_at)} days ago; the limit is "
                f"{cfg.no_contact_days} days."
            ),
            evidence=[EvidenceLink(kind="deal", occurred_at=deal.created_at, note="created")],
        )
    cid = contact.last_contact_id if contact else None
    return RiskFlag(
        code="no_contact",
        title="No customer contact",
        explanation=(
            f"No call or customer email for {_days(now - last)} days (last on "
            f"{last.date().isoformat()}); the limit is {cfg.no_contact_days} days."
        ),
        evidence=[
            EvidenceLink(
                kind="conversation",
                conversation_id=cid,
                occurred_at=last,
                url=conversation_url(cid) if cid else None,
                note="last customer contact",
            )
        ],
    )


def _close_date(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    assert deal.close_date is not None
    late = (now.date() - deal.close_date).days
    return RiskFlag(
        code="close_date_passed",
        title="Close date passed",
        explanation=(
            f"The close date {deal.close_date.isoformat()} passed {late} days ago and "
            "the deal is still open."
        ),
        evidence=[EvidenceLink(kind="deal", note=f"close_date {deal.close_date}")],
    )


def _competitor(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    names = ", ".join(f"{c.name} ({c.contexts}, {c.mentions}x)" for c in facts.competitors)
    return RiskFlag(
        code="active_competitor",
        title="Active competitor",
        explanation=f"The customer mentioned {names} in the last {cfg.competitor_days} days.",
        evidence=[quote_link(c.latest) for c in facts.competitors],
    )


def _objections(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    open_objs = [o for o in facts.objections if o.open]
    parts = []
    for o in open_objs:
        why = "raised again" if o.raised_again else "no rep response"
        if o.raised_again and not o.rep_responded:
            why = "raised again, no rep response"
        parts.append(f"{o.category} ({why})")
    return RiskFlag(
        code="open_objections",
        title="Unresolved objections",
        explanation=(
            f"{len(open_objs)} unresolved objection(s) in the last "
            f"{cfg.objection_lookback_days} days: {', '.join(parts)}."
        ),
        evidence=[quote_link(o.latest) for o in open_objs],
    )


def _talk(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> RiskFlag:
    assert facts.talk is not None
    ratio, calls = facts.talk
    return RiskFlag(
        code="talk_ratio_high",
        title="Rep talks too much",
        explanation=(
            f"The rep talked {ratio:.0%} of the time over {calls} call(s) in the last "
            f"{cfg.talk_ratio_days} days, above the {cfg.talk_ratio_max:.0%} limit "
            "(close rates drop when reps talk over 65%)."
        ),
        evidence=[
            EvidenceLink(
                kind="conversation",
                conversation_id=cid,
                occurred_at=at,
                url=conversation_url(cid),
                note=f"rep talk ratio {r:.0%}",
            )
            for cid, at, r in facts.talk_calls
        ],
    )


_EXPLAIN: dict[RiskCode, Callable[[Deal, DealFacts, RiskSettings, datetime], RiskFlag]] = {
    "stalled": _stalled,
    "no_contact": _no_contact,
    "close_date_passed": _close_date,
    "active_competitor": _competitor,
    "open_objections": _objections,
    "talk_ratio_high": _talk,
}
