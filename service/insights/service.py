"""Running the analysis pipeline for a tenant and storing insights; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Competitor, Conversation, Insight, OrgMention, Tenant, Tracker
from nlp.components.organisations import org_key
from nlp.types import (
    AnalysisDoc,
    CompetitorSpec,
    KeywordSpec,
    Segment,
    SmartSpec,
    TenantNlpConfig,
    Utterance,
)
from nlp.types import Insight as NlpInsight
from service.insights.schemas import InsightOut
from service.trends.rollup import apply_conversation


def tenant_nlp_config(session: Session, *, tenant_id: uuid.UUID) -> TenantNlpConfig:
    """The tenant's catalogue and trackers, as the pipeline wants them."""
    comps = session.execute(
        select(Competitor).where(Competitor.tenant_id == tenant_id).order_by(Competitor.name)
    ).scalars()
    trackers = list(
        session.execute(
            select(Tracker).where(Tracker.tenant_id == tenant_id).order_by(Tracker.label)
        ).scalars()
    )
    tenant = session.get(Tenant, tenant_id)
    disabled = tuple((tenant.settings or {}).get("disabled_categories", ())) if tenant else ()
    return TenantNlpConfig(
        competitors=tuple(
            CompetitorSpec(c.name, tuple(c.aliases or ()), c.ambiguous) for c in comps
        ),
        keyword_trackers=tuple(
            KeywordSpec(t.label, tuple(t.phrases), t.speaker, t.only_questions)  # type: ignore[arg-type]
            for t in trackers
            if t.mode == "keyword"
        ),
        smart_trackers=tuple(
            smart_spec(t) for t in trackers if t.mode == "smart" and t.trained is not None
        ),
        disabled_categories=disabled,
    )


def smart_spec(tracker: Tracker) -> SmartSpec:
    """The stored trained scorer of a smart tracker."""
    trained = tracker.trained or {}
    return SmartSpec(
        label=tracker.label,
        weights=tuple(trained["weights"]),
        bias=float(trained["bias"]),
        threshold=float(trained["threshold"]),
        speaker=tracker.speaker,  # type: ignore[arg-type]
        negatives=tuple(tuple(v) for v in trained.get("negatives", ())),
    )


def utterances_from_segments(segments: Sequence[Segment]) -> list[Utterance]:
    """Transcript segments as analysis utterances."""
    return [Utterance(s.speaker, s.text, s.start, s.end, list(s.words)) for s in segments]


def insight_out(i: NlpInsight) -> InsightOut:
    """The API shape of a pipeline insight."""
    return InsightOut(
        kind=i.kind,
        label=i.label,
        utterance=i.utterance,
        quote=i.quote,
        span=i.span,
        start=i.start,
        end=i.end,
        speaker=i.speaker,
        confidence=min(1.0, max(0.0, i.confidence)),
        context=i.context,
    )


def stored_insight_out(row: Insight) -> InsightOut:
    """The API shape of a stored insight."""
    return InsightOut(
        kind=row.kind,  # type: ignore[arg-type]
        label=row.label,
        utterance=row.utterance,
        quote=row.quote,
        span=(row.span_begin, row.span_end),
        start=row.start_s,
        end=row.end_s,
        speaker=row.speaker,  # type: ignore[arg-type]
        confidence=row.confidence,
        context=row.context,
    )


def replace_insights(
    session: Session, *, conversation: Conversation, doc: AnalysisDoc, analyzer_version: str
) -> int:
    """Store the document's insights for the conversation, replacing earlier ones."""
    # The trend counts follow the insight table: out with the old contribution, in with the new.
    if conversation.analyzed_at is not None:
        apply_conversation(session, conversation=conversation, sign=-1)
    session.execute(delete(Insight).where(Insight.conversation_id == conversation.id))
    occurred = conversation.started_at or conversation.created_at
    rows = [
        Insight(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            kind=i.kind,
            label=i.label[:200],
            utterance=i.utterance,
            quote=i.quote,
            span_begin=i.span[0],
            span_end=i.span[1],
            start_s=i.start,
            end_s=i.end,
            speaker=i.speaker,
            confidence=min(1.0, max(0.0, i.confidence)),
            context=i.context,
            source=i.source[:120],
            analyzer_version=analyzer_version[:200],
            occurred_at=occurred,
            deal_external_id=conversation.deal_external_id,
            rep_external_id=conversation.rep_external_id,
            team=conversation.team,
        )
        for i in doc.insights
    ]
    session.add_all(rows)
    session.flush()
    apply_conversation(session, conversation=conversation, sign=1)
    session.execute(delete(OrgMention).where(OrgMention.conversation_id == conversation.id))
    seen: set[str] = set()
    for name in doc.org_candidates:
        key = org_key(name)[:200]
        if key and key not in seen:
            seen.add(key)
            session.add(
                OrgMention(
                    tenant_id=conversation.tenant_id,
                    conversation_id=conversation.id,
                    key=key,
                    name=name[:200],
                    occurred_at=occurred,
                )
            )
    return len(rows)


def conversation_insights(session: Session, *, conversation_id: uuid.UUID) -> list[InsightOut]:
    """The stored insights of a conversation in transcript order."""
    rows = session.execute(
        select(Insight)
        .where(Insight.conversation_id == conversation_id)
        .order_by(Insight.utterance, Insight.span_begin, Insight.kind, Insight.label)
    ).scalars()
    return [stored_insight_out(r) for r in rows]
