"""Page URLs for evidence: every number leads to a deal, a conversation, a quote at its time."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from urllib.parse import urlencode

from service.deals.schemas import EvidenceLink


def quote_url(
    conversation_id: uuid.UUID | str, start: float | None = None, insight_id: int | None = None
) -> str:
    """The conversation page, seeking to a quote's start and pointing at its insight."""
    url = f"/conversations/{conversation_id}"
    if start is not None:
        url += f"?t={start:.2f}"
    if insight_id is not None:
        url += f"#insight-{insight_id}"
    return url


def evidence_url(link: EvidenceLink) -> str | None:
    """Where a piece of deal evidence is shown to people (None for CRM facts)."""
    if link.conversation_id is None:
        return None
    return quote_url(link.conversation_id, link.start, link.insight_id)


def evidence_list_url(
    *,
    kind: str,
    label: str | None = None,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    team: str | None = None,
    rep: str | None = None,
    deal: str | None = None,
    context: str | None = None,
) -> str:
    """The evidence page: every quote behind a count or a chart point."""
    params = {
        "kind": kind,
        "label": label,
        "context": context,
        "from": start.isoformat() if start is not None else None,
        "to": end.isoformat() if end is not None else None,
        "team": team,
        "rep": rep,
        "deal": deal,
    }
    return "/evidence?" + urlencode({k: v for k, v in params.items() if v})
