"""The conversation page's data: transcript or email, evidence, deal; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Conversation, Deal, Insight, TranscriptSegment
from service.conversations.service import get_conversation
from service.web.pages.highlight import Span, highlight


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker turn with its evidence marked."""

    idx: int
    speaker: str
    start_s: float
    end_s: float
    html: Markup


@dataclass(slots=True)
class ConversationView:
    """Everything the page renders."""

    conversation: Conversation
    deal: Deal | None
    turns: list[Turn] = field(default_factory=list)
    insights: list[Insight] = field(default_factory=list)
    email: dict[str, Any] | None = None
    email_html: Markup | None = None
    has_audio: bool = False


def conversation_view(
    session: Session, *, tenant_id: uuid.UUID, conversation_id: str
) -> ConversationView:
    """The tenant's conversation with its turns and insights (404 for others' ids)."""
    conv = get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    insights = list(
        session.execute(
            select(Insight)
            .where(Insight.conversation_id == conv.id, Insight.tenant_id == tenant_id)
            .order_by(Insight.start_s.is_(None), Insight.start_s, Insight.utterance, Insight.id)
        ).scalars()
    )
    deal = None
    if conv.deal_external_id is not None:
        deal = session.execute(
            select(Deal).where(
                Deal.tenant_id == tenant_id, Deal.external_id == conv.deal_external_id
            )
        ).scalar_one_or_none()
    view = ConversationView(conversation=conv, deal=deal, insights=insights)
    by_utterance: dict[int, list[Span]] = {}
    for i in insights:
        if i.utterance is not None:
            by_utterance.setdefault(i.utterance, []).append(
                Span(i.span_begin, i.span_end, i.id, i.kind, i.start_s)
            )
    if conv.kind == "email":
        view.email = dict((conv.meta or {}).get("email") or {})
        view.email_html = highlight(str(view.email.get("new_text") or ""), by_utterance.get(0, []))
        return view
    view.has_audio = conv.blob_key is not None
    rows = session.execute(
        select(TranscriptSegment)
        .where(TranscriptSegment.conversation_id == conv.id)
        .order_by(TranscriptSegment.idx)
    ).scalars()
    view.turns = [
        Turn(r.idx, r.speaker, r.start_s, r.end_s, highlight(r.text, by_utterance.get(r.idx, [])))
        for r in rows
    ]
    return view
