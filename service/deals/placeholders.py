"""Placeholder deals made from the deal metadata of recordings and emails; never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Deal
from models.base import new_id, utcnow
from service.conversations.schemas import DealRef, RepRef
from service.dbutil import insert_or_ignore


def ensure_deal_row(session: Session, *, tenant_id: uuid.UUID, external_id: str) -> bool:
    """Insert an empty placeholder deal unless it exists; True when this call inserted it."""
    now = utcnow()
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "external_id": external_id,
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    new = insert_or_ignore(session, Deal, values, conflict=["tenant_id", "external_id"])
    return new is not None


def note_deal_reference(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    ref: DealRef,
    rep: RepRef | None,
    seen_at: datetime,
) -> str | None:
    """Make a placeholder deal from a recording's or email's deal metadata; returns its team.

    A placeholder (crm_updated_at is None) only fills fields that are still empty: the CRM's
    own deal.updated events always win, whichever arrives first.
    """
    ensure_deal_row(session, tenant_id=tenant_id, external_id=ref.external_id)
    deal = session.execute(
        select(Deal).where(Deal.tenant_id == tenant_id, Deal.external_id == ref.external_id)
    ).scalar_one()
    if deal.crm_updated_at is None:
        deal.name = deal.name or ref.name
        deal.stage = deal.stage or ref.stage
        if deal.amount is None and ref.amount is not None:
            deal.amount = Decimal(str(ref.amount))
        deal.close_date = deal.close_date or ref.close_date
        if rep is not None and deal.owner_external_id is None:
            deal.owner_external_id = rep.external_id
            deal.owner_name = rep.name
            deal.team = deal.team or rep.team
        if deal.stage is not None and deal.stage_entered_at is None:
            deal.stage_entered_at = seen_at
    session.flush()
    return deal.team
