"""Conversation queries and ingestion (insert-or-ignore, job creation); never commits."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Conversation, TranscriptSegment
from models.base import new_id, utcnow
from service.conversations.schemas import (
    ConversationOut,
    ConversationPage,
    ConversationSummary,
    DealRef,
    ErrorOut,
    Playbook,
    RecordingMetadata,
    RepRef,
    SegmentOut,
    WordOut,
)
from service.db import after_commit
from service.dbutil import insert_or_ignore, tenant_row
from service.deals.placeholders import note_deal_reference
from service.errors import BadRequest, Conflict
from service.insights.service import conversation_insights
from service.jobs import state
from service.jobs.runtime import Runtime
from service.storage import StoredBlob


def ingest_recording(
    session: Session,
    *,
    rt: Runtime,
    tenant_id: uuid.UUID,
    source: str,
    meta: RecordingMetadata,
    blob: StoredBlob | None,
    filename: str | None = None,
    media_type: str | None = None,
) -> tuple[Conversation, bool]:
    """Store a new recording and its first job, or find the existing one; returns (row, created)."""
    if blob is None and meta.recording_url is None:
        raise BadRequest("send a 'file' part or a 'recording_url'", code="no_recording")
    now = utcnow()
    raw = meta.model_dump(mode="json", exclude_none=True)
    team = deal_team(session, tenant_id=tenant_id, deal=meta.deal, rep=meta.rep, seen_at=now)
    values: dict[str, Any] = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "kind": "call",
        "source": source,
        "external_id": meta.external_id,
        "status": "queued",
        "deal_external_id": meta.deal.external_id if meta.deal else None,
        "rep_external_id": meta.rep.external_id if meta.rep else None,
        "team": team,
        "started_at": meta.started_at,
        "direction": meta.direction,
        "playbook_experiment": meta.playbook.experiment if meta.playbook else None,
        "playbook_variant": meta.playbook.variant if meta.playbook else None,
        "meta": raw,
        "recording_url": str(meta.recording_url) if meta.recording_url else None,
        "blob_key": blob.key if blob else None,
        "media_bytes": blob.size if blob else None,
        "media_type": media_type,
        "filename": filename,
        "created_at": now,
        "updated_at": now,
    }
    kind = "transcribe" if blob is not None else "fetch"
    return insert_with_job(session, rt=rt, values=values, first_job=kind)


def deal_team(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deal: DealRef | None,
    rep: RepRef | None,
    seen_at: datetime,
) -> str | None:
    """The team a conversation counts for: the rep's, else its deal's (placeholder made if new)."""
    team = rep.team if rep is not None else None
    if deal is not None:
        deal_team = note_deal_reference(
            session, tenant_id=tenant_id, ref=deal, rep=rep, seen_at=seen_at
        )
        team = team or deal_team
    return team


def insert_with_job(
    session: Session, *, rt: Runtime, values: dict[str, Any], first_job: str
) -> tuple[Conversation, bool]:
    """Insert the conversation with its first job, or return the one already stored."""
    inserted = insert_or_ignore(
        session, Conversation, values, conflict=["tenant_id", "kind", "external_id"]
    )
    if inserted is None:
        existing = session.execute(
            select(Conversation).where(
                Conversation.tenant_id == values["tenant_id"],
                Conversation.kind == values["kind"],
                Conversation.external_id == values["external_id"],
            )
        ).scalar_one()
        return existing, False
    conv = session.get(Conversation, inserted)
    assert conv is not None
    job = state.enqueue(
        session, conversation=conv, kind=first_job, max_attempts=rt.settings.jobs.max_attempts
    )
    dispatch = state.Dispatch(job.id, job.kind)
    after_commit(session, lambda: rt.dispatch([dispatch]))
    return conv, True


def get_conversation(
    session: Session, *, tenant_id: uuid.UUID, conversation_id: str
) -> Conversation:
    """The tenant's conversation; other tenants' ids and malformed ids are 404 alike."""
    return tenant_row(
        session, Conversation, tenant_id=tenant_id, row_id=conversation_id, what="conversation"
    )


def summary(conv: Conversation) -> ConversationSummary:
    """The list-view shape of a conversation."""
    return ConversationSummary(**_summary_fields(conv))


def _summary_fields(conv: Conversation) -> dict[str, Any]:
    error = (
        ErrorOut(code=conv.error_code, message=conv.error_message or "")
        if conv.status == "failed" and conv.error_code
        else None
    )
    playbook = (
        Playbook(experiment=conv.playbook_experiment, variant=conv.playbook_variant)
        if conv.playbook_experiment and conv.playbook_variant
        else None
    )
    return {
        "id": conv.id,
        "external_id": conv.external_id,
        "kind": conv.kind,
        "status": conv.status,
        "error": error,
        "deal_external_id": conv.deal_external_id,
        "rep_external_id": conv.rep_external_id,
        "started_at": conv.started_at,
        "direction": conv.direction,
        "playbook": playbook,
        "duration": conv.duration_s,
        "created_at": conv.created_at,
        "updated_at": conv.updated_at,
    }


def detail(session: Session, conv: Conversation) -> ConversationOut:
    """The full conversation, with the transcript once it exists."""
    segments: list[SegmentOut] | None = None
    if conv.transcribed_at is not None:
        rows = session.execute(
            select(TranscriptSegment)
            .where(TranscriptSegment.conversation_id == conv.id)
            .order_by(TranscriptSegment.idx)
        ).scalars()
        segments = [
            SegmentOut(
                speaker=r.speaker,  # type: ignore[arg-type]
                start=r.start_s,
                end=r.end_s,
                text=r.text,
                words=[WordOut(word=w[0], start=w[1], end=w[2], prob=w[3]) for w in r.words],
            )
            for r in rows
        ]
    return ConversationOut(
        **_summary_fields(conv),
        metadata=conv.meta or {},
        language=conv.language,
        segments=segments,
        metrics=conv.metrics,
        insights=(
            conversation_insights(session, conversation_id=conv.id)
            if conv.analyzed_at is not None
            else None
        ),
    )


def _encode_cursor(created_at: datetime, cid: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{cid}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        ts, _, cid = text.partition("|")
        return datetime.fromisoformat(ts), uuid.UUID(cid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor", code="invalid_cursor") from exc


def list_conversations(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    deal_external_id: str | None,
    status: str | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> ConversationPage:
    """The tenant's conversations, newest first, keyset-paginated."""
    q = select(Conversation).where(Conversation.tenant_id == tenant_id)
    if deal_external_id is not None:
        q = q.where(Conversation.deal_external_id == deal_external_id)
    if status is not None:
        q = q.where(Conversation.status == status)
    if since is not None:
        q = q.where(Conversation.created_at >= since)
    if cursor:
        c_at, c_id = _decode_cursor(cursor)
        q = q.where(
            or_(
                Conversation.created_at < c_at,
                and_(Conversation.created_at == c_at, Conversation.id < c_id),
            )
        )
    rows = list(
        session.execute(
            q.order_by(Conversation.created_at.desc(), Conversation.id.desc()).limit(limit + 1)
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return ConversationPage(items=[summary(r) for r in rows], next_cursor=nxt)


def reanalyze(session: Session, *, rt: Runtime, conversation: Conversation) -> None:
    """Queue the analysis again after a catalogue, tracker or model change; keeps the transcript."""
    if conversation.transcribed_at is None and conversation.kind == "call":
        raise Conflict(
            f"conversation is {conversation.status}: it can be re-analysed once transcribed",
            code="not_transcribed",
        )
    job = state.enqueue(
        session,
        conversation=conversation,
        kind="analyze",
        max_attempts=rt.settings.jobs.max_attempts,
    )
    conversation.status = "queued"
    conversation.error_code = None
    conversation.error_message = None
    dispatch = state.Dispatch(job.id, job.kind)
    after_commit(session, lambda: rt.dispatch([dispatch]))


def reanalyzable_ids(
    session: Session, *, since: datetime, tenant_id: uuid.UUID | None
) -> list[uuid.UUID]:
    """Conversations created since the date that have something to analyse."""
    q = select(Conversation.id).where(
        Conversation.created_at >= since,
        or_(Conversation.transcribed_at.is_not(None), Conversation.kind == "email"),
    )
    if tenant_id is not None:
        q = q.where(Conversation.tenant_id == tenant_id)
    return list(session.execute(q.order_by(Conversation.created_at)).scalars())
