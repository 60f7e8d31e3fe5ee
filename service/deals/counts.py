"""Per-deal counts behind the board's flag codes: grouped queries, no evidence rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Insight
from service.deals.facts import (
    ContactFact,
    active_mention_conditions,
    contacts,
    objection_states,
    raised_conditions,
)
from service.deals.latest import chunks, utc


def open_objection_counts(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deals: Sequence[str],
    since: datetime | None,
    categories: list[str] | None,
    contact: dict[str, ContactFact] | None = None,
) -> dict[str, int]:
    """How many objection categories are open per deal, exactly as objection_states judges.

    One grouped pass decides most (deal, category) pairs from the deal's contact times alone:
    a later rep touch means answered, and raised again with nothing since means open. Only
    the few pairs that hang on a rep turn inside the raising call go through objection_states.
    """
    i = Insight
    if contact is None:
        contact = contacts(session, tenant_id=tenant_id, deals=deals, with_last_id=False)
    out: dict[str, int] = {}
    unsure: set[str] = set()
    for part in chunks(deals):
        conds = raised_conditions(tenant_id, part, since=since, categories=categories)
        grouped = (
            select(
                i.deal_external_id,
                func.min(i.occurred_at),
                func.max(i.occurred_at),
            )
            .where(*conds)
            .group_by(i.deal_external_id, i.label)
        )
        for raw_deal, raw_first, raw_last in session.execute(grouped):
            deal, first_at, last_at = str(raw_deal), utc(raw_first), utc(raw_last)
            assert first_at is not None and last_at is not None
            c = contact.get(deal)
            later_rep = c is not None and c.last_rep_at is not None and c.last_rep_at > last_at
            anything_later = c is not None and c.last_at is not None and c.last_at > last_at
            again = first_at < last_at
            if later_rep:
                is_open = again and not anything_later
            elif again and not anything_later:
                is_open = True
            else:
                unsure.add(deal)  # open unless the rep spoke after it in the same call
                continue
            out[deal] = out.get(deal, 0) + int(is_open)
    if unsure:
        states = objection_states(
            session,
            tenant_id=tenant_id,
            deals=sorted(unsure),
            since=since,
            categories=categories,
            contact=contact,
        )
        for deal in unsure:
            out[deal] = sum(1 for s in states.get(deal, []) if s.open)
    return out


def active_competitor_counts(
    session: Session, *, tenant_id: uuid.UUID, deals: Sequence[str], since: datetime
) -> dict[str, int]:
    """How many competitors per deal active_competitors would list (no quotes read)."""
    i = Insight
    out: dict[str, int] = {}
    for part in chunks(deals):
        q = (
            select(i.deal_external_id, func.count(func.distinct(i.label)))
            .where(*active_mention_conditions(tenant_id, part, since=since))
            .group_by(i.deal_external_id)
        )
        out.update({str(deal): int(n) for deal, n in session.execute(q)})
    return out
