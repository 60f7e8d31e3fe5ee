"""Risk flags of open deals, each with a sentence saying why and links to its evidence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import Deal
from service.deals.facts import CompetitorFact, ContactFact, ObjectionState, Quote
from service.deals.schemas import EvidenceLink, RiskFlag
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


def risk_flags(deal: Deal, facts: DealFacts, cfg: RiskSettings, now: datetime) -> list[RiskFlag]:
    """The flags an open deal carries now; closed deals carry none."""
    if deal.status != "open":
        return []
    flags: list[RiskFlag] = []
    if deal.stage_entered_at is not None:
        days = _days(now - deal.stage_entered_at)
        if days > cfg.stalled_days:
            flags.append(
                RiskFlag(
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
            )
    contact = facts.contact
    last = contact.last_contact_at if contact else None
    if last is not None and _days(now - last) > cfg.no_contact_days:
        assert contact is not None
        cid = contact.last_contact_id
        flags.append(
            RiskFlag(
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
        )
    elif last is None and _days(now - deal.created_at) > cfg.no_contact_days:
        flags.append(
            RiskFlag(
                code="no_contact",
                title="No customer contact",
                explanation=(
                    f"No call or customer email recorded since the deal appeared "
                    f"{_days(now - deal.created_at)} days ago; the limit is "
                    f"{cfg.no_contact_days} days."
                ),
                evidence=[EvidenceLink(kind="deal", occurred_at=deal.created_at, note="created")],
            )
        )
    if deal.close_date is not None and deal.close_date < now.date():
        late = (now.date() - deal.close_date).days
        flags.append(
            RiskFlag(
                code="close_date_passed",
                title="Close date passed",
                explanation=(
                    f"The close date {deal.close_date.isoformat()} passed {late} days ago and "
                    "the deal is still open."
                ),
                evidence=[EvidenceLink(kind="deal", note=f"close_date {deal.close_date}")],
            )
        )
    if facts.competitors:
        names = ", ".join(f"{c.name} ({c.contexts}, {c.mentions}x)" for c in facts.competitors)
        flags.append(
            RiskFlag(
                code="active_competitor",
                title="Active competitor",
                explanation=(
                    f"The customer mentioned {names} in the last {cfg.competitor_days} days."
                ),
                evidence=[quote_link(c.latest) for c in facts.competitors],
            )
        )
    open_objs = [o for o in facts.objections if o.open]
    if open_objs:
        parts = []
        for o in open_objs:
            why = "raised again" if o.raised_again else "no rep response"
            if o.raised_again and not o.rep_responded:
                why = "raised again, no rep response"
            parts.append(f"{o.category} ({why})")
        flags.append(
            RiskFlag(
                code="open_objections",
                title="Unresolved objections",
                explanation=(
                    f"{len(open_objs)} unresolved objection(s) in the last "
                    f"{cfg.objection_lookback_days} days: {', '.join(parts)}."
                ),
                evidence=[quote_link(o.latest) for o in open_objs],
            )
        )
    if facts.talk is not None and facts.talk[0] > cfg.talk_ratio_max:
        ratio, calls = facts.talk
        flags.append(
            RiskFlag(
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
        )
    return flags
