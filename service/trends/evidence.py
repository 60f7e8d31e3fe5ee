"""The quotes behind any trend bar, newest first, keyset-paginated."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Conversation, Deal, Insight
from service.errors import BadRequest
from service.trends.params import TrendFilters
from service.trends.query import insight_conditions
from service.trends.schemas import EvidenceItem, EvidencePage

MAX_PAGE = 200


def encode_cursor(at: datetime, insight_id: int) -> str:
    """An opaque cursor for the row after which the next page starts."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{insight_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, id) inside a cursor; 400 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        at, _, ident = raw.partition("|")
        when = datetime.fromisoformat(at)
        if not 0 < int(ident) < 2**62:
            raise ValueError(ident)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), int(ident)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            "malformed cursor; pass back next_cursor as given", code="invalid_cursor"
        ) from None


def evidence(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    filters: TrendFilters,
    limit: int = 50,
    cursor: str | None = None,
) -> EvidencePage:
    """Insights of one kind under the trend filters, with conversation and deal, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be 1-{MAX_PAGE}", code="invalid_limit")
    i = Insight
    dialect = session.get_bind().dialect.name
    conds = insight_conditions(tenant_id=tenant_id, kind=kind, f=filters, dialect=dialect)
    if cursor is not None:
        at, ident = decode_cursor(cursor)
        conds.append(or_(i.occurred_at < at, and_(i.occurred_at == at, i.id < ident)))
    q = (
        select(i, Conversation.kind, Deal.id, Deal.name)
        .join(Conversation, Conversation.id == i.conversation_id)
        .outerjoin(
            Deal, and_(Deal.tenant_id == i.tenant_id, Deal.external_id == i.deal_external_id)
        )
        .where(*conds)
        .order_by(i.occurred_at.desc(), i.id.desc())
        .limit(limit + 1)
    )
    rows = session.execute(q).all()
    items = [
        EvidenceItem(
            insight_id=row.id,
            kind=row.kind,
            label=row.label,
            context=row.context,
            quote=row.quote,
            speaker=row.speaker,
            start=row.start_s,
            end=row.end_s,
            confidence=row.confidence,
            occurred_at=row.occurred_at,
            conversation_id=row.conversation_id,
            conversation_url=f"/v1/conversations/{row.conversation_id}",
            conversation_kind=conv_kind,
            deal_id=deal_id,
            deal_external_id=row.deal_external_id,
            deal_name=deal_name,
            rep_external_id=row.rep_external_id,
            team=row.team,
        )
        for row, conv_kind, deal_id, deal_name in rows[:limit]
    ]
    more = len(rows) > limit
    last = items[-1] if items else None
    nxt = encode_cursor(last.occurred_at, last.insight_id) if more and last else None
    return EvidencePage(items=items, next_cursor=nxt)
