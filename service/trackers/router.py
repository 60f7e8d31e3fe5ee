"""Tenant trackers: create, list, read, replace, delete. Smart ones are trained on save."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from models import Tracker
from service.auth import TenantDep
from service.db import SessionDep
from service.dbutil import tenant_row
from service.errors import BadRequest, Conflict
from service.trackers.schemas import TrackerIn, TrackerOut

router = APIRouter(tags=["trackers"])
MAX_TRACKERS = 200


def _out(t: Tracker) -> TrackerOut:
    return TrackerOut(
        id=t.id,
        label=t.label,
        mode=t.mode,  # type: ignore[arg-type]
        speaker=t.speaker,  # type: ignore[arg-type]
        phrases=t.phrases,
        only_questions=t.only_questions,
        examples=t.examples,
        negatives=t.negatives,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def _get(session: Session, tenant_id: uuid.UUID, tracker_id: str) -> Tracker:
    return tenant_row(session, Tracker, tenant_id=tenant_id, row_id=tracker_id, what="tracker")


def _train(request: Request, body: TrackerIn) -> dict[str, object] | None:
    """Train a smart tracker's scorer (seconds); None for keyword trackers."""
    if body.mode != "smart":
        return None
    from nlp.registry import encoder_of
    from nlp.trackers import TrackerDraft, TrackerError, train_tracker

    encoder = encoder_of(request.app.state.ctx.runtime.pipeline())
    draft = TrackerDraft(body.label, tuple(body.examples), tuple(body.negatives), body.speaker)
    try:
        spec = train_tracker(draft, encoder)
    except TrackerError as exc:
        raise BadRequest(str(exc), code="tracker_needs_examples") from exc
    return {
        "weights": list(spec.weights),
        "bias": spec.bias,
        "threshold": spec.threshold,
        "negatives": [list(v) for v in spec.negatives],
    }


def _check_unique(
    session: Session, tenant_id: uuid.UUID, body: TrackerIn, skip: uuid.UUID | None
) -> None:
    clash = session.execute(
        select(Tracker.id).where(
            Tracker.tenant_id == tenant_id, Tracker.label == body.label, Tracker.mode == body.mode
        )
    ).scalar()
    if clash is not None and clash != skip:
        raise Conflict(f"a {body.mode} tracker labelled {body.label!r} exists already")


@router.post("/v1/trackers", status_code=201, response_model=TrackerOut)
async def create_tracker(
    body: TrackerIn, request: Request, tenant: TenantDep, session: SessionDep
) -> TrackerOut:
    """Create a tracker; it applies to every conversation analysed from now on."""
    tenant_id = tenant.id

    def check() -> None:
        count = len(session.execute(select(Tracker.id).where(Tracker.tenant_id == tenant_id)).all())
        if count >= MAX_TRACKERS:
            raise BadRequest(
                f"at most {MAX_TRACKERS} trackers per tenant", code="too_many_trackers"
            )
        _check_unique(session, tenant_id, body, None)

    await run_in_threadpool(check)
    trained = await run_in_threadpool(_train, request, body)

    def save() -> TrackerOut:
        row = Tracker(
            tenant_id=tenant_id,
            label=body.label,
            mode=body.mode,
            speaker=body.speaker,
            phrases=[p.strip() for p in body.phrases if p.strip()],
            only_questions=body.only_questions,
            examples=body.examples,
            negatives=body.negatives,
            trained=trained,
        )
        session.add(row)
        session.flush()
        return _out(row)

    return await run_in_threadpool(save)


@router.get("/v1/trackers", response_model=list[TrackerOut])
def list_trackers(tenant: TenantDep, session: SessionDep) -> list[TrackerOut]:
    """The tenant's trackers, by label."""
    rows = session.execute(
        select(Tracker).where(Tracker.tenant_id == tenant.id).order_by(Tracker.label, Tracker.mode)
    ).scalars()
    return [_out(r) for r in rows]


@router.get("/v1/trackers/{tracker_id}", response_model=TrackerOut)
def get_tracker(tracker_id: str, tenant: TenantDep, session: SessionDep) -> TrackerOut:
    """One tracker."""
    return _out(_get(session, tenant.id, tracker_id))


@router.put("/v1/trackers/{tracker_id}", response_model=TrackerOut)
async def replace_tracker(
    tracker_id: str, body: TrackerIn, request: Request, tenant: TenantDep, session: SessionDep
) -> TrackerOut:
    """Replace a tracker's definition (smart trackers are trained again)."""
    tenant_id = tenant.id
    row = await run_in_threadpool(_get, session, tenant_id, tracker_id)
    await run_in_threadpool(_check_unique, session, tenant_id, body, row.id)
    trained = await run_in_threadpool(_train, request, body)

    def save() -> TrackerOut:
        row.label, row.mode, row.speaker = body.label, body.mode, body.speaker
        row.phrases = [p.strip() for p in body.phrases if p.strip()]
        row.only_questions = body.only_questions
        row.examples, row.negatives, row.trained = body.examples, body.negatives, trained
        session.flush()
        return _out(row)

    return await run_in_threadpool(save)


@router.delete("/v1/trackers/{tracker_id}", status_code=204)
def delete_tracker(tracker_id: str, tenant: TenantDep, session: SessionDep) -> Response:
    """Delete a tracker (insights already stored stay until the conversation is re-analysed)."""
    session.delete(_get(session, tenant.id, tracker_id))
    return Response(status_code=204)
