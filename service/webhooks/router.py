"""The CRM webhook: signed events posted by the CRM or dialer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from models import Tenant
from service.conversations.ingest import (
    InvalidMetadata,
    accept_recording,
    event_payload,
    recording_event,
)
from service.conversations.schemas import IngestResult
from service.db import SessionDep, session_scope
from service.deals.events import DealEvent, apply_deal_event, deal_event
from service.emails.schemas import EmailEvent
from service.emails.service import ingest_email
from service.errors import BadRequest, NotFound
from service.jobs.runtime import Runtime
from service.uploads import receive_body
from service.webhooks import signature

router = APIRouter(tags=["webhooks"])
SUPPORTED_EVENTS = ("recording.created", "email.received", "deal.updated")


@router.post(
    "/v1/webhooks/crm/{tenant_id}",
    status_code=202,
    response_model=IngestResult,
    responses={200: {"description": "already received"}, 401: {}, 404: {}, 413: {}},
)
async def crm_webhook(tenant_id: str, request: Request, session: SessionDep) -> JSONResponse:
    """Receive a signed CRM event; JSON, or multipart with 'metadata' and 'file' parts."""
    ctx = request.app.state.ctx
    try:
        tid = uuid.UUID(tenant_id)
    except ValueError:
        raise NotFound("unknown tenant") from None
    secret = await run_in_threadpool(_webhook_secret, ctx.runtime, tid)
    if secret is None:
        raise NotFound("unknown tenant")
    # Check header and clock before reading a possibly huge body.
    timestamp, sigs = signature.parse_header(request.headers.get(signature.HEADER))
    signature.check_fresh(timestamp, tolerance_s=ctx.settings.signature_tolerance_s)
    mac = signature.start_mac(secret, timestamp)
    body = await receive_body(
        request,
        store=ctx.runtime.store,
        max_file_bytes=ctx.settings.storage.max_upload_bytes,
        max_json_bytes=ctx.settings.storage.max_json_bytes,
        on_chunk=mac.update,
    )
    try:
        signature.check_mac(mac, sigs)
        payload = event_payload(body)
        event = payload.get("event", "recording.created" if body.kind == "multipart" else None)
        if event not in SUPPORTED_EVENTS:
            raise BadRequest(
                f"unsupported event {event!r}; supported: {', '.join(SUPPORTED_EVENTS)}",
                code="unsupported_event",
            )
        if event == "email.received":
            if body.kind != "json":
                raise BadRequest("send email.received events as JSON", code="unsupported_format")
            email = email_event(payload)
        elif event == "deal.updated":
            if body.kind != "json":
                raise BadRequest("send deal.updated events as JSON", code="unsupported_format")
            deal = deal_event(payload)
        else:
            rec = recording_event(payload)
    except Exception:
        body.discard()
        raise
    if event == "email.received":
        return await run_in_threadpool(
            lambda: accept_email(session=session, rt=ctx.runtime, tenant_id=tid, body=email)
        )
    if event == "deal.updated":
        return await run_in_threadpool(
            lambda: accept_deal(session=session, tenant_id=tid, body=deal)
        )
    return await accept_recording(
        session=session, rt=ctx.runtime, tenant_id=tid, source="webhook", body=body, event=rec
    )


def email_event(payload: dict[str, object]) -> EmailEvent:
    """Validate an email.received payload."""
    try:
        return EmailEvent.model_validate(payload)
    except ValidationError as exc:
        raise InvalidMetadata(exc) from exc


def accept_email(
    *, session: Session, rt: Runtime, tenant_id: uuid.UUID, body: EmailEvent
) -> JSONResponse:
    """Store the email; 202 when new, 200 when already received."""
    conv, created = ingest_email(session, rt=rt, tenant_id=tenant_id, source="webhook", body=body)
    result = IngestResult(conversation_id=conv.id, status=conv.status, duplicate=not created)  # type: ignore[arg-type]
    return JSONResponse(result.model_dump(mode="json"), status_code=202 if created else 200)


def accept_deal(*, session: Session, tenant_id: uuid.UUID, body: DealEvent) -> JSONResponse:
    """Apply a deal event now; 200 with what it did (stale or repeated events change nothing)."""
    result = apply_deal_event(session, tenant_id=tenant_id, event=body)
    return JSONResponse(
        {
            "deal_id": str(result.deal.id),
            "external_id": result.deal.external_id,
            "outcome": result.outcome,
        },
        status_code=200,
    )


def _webhook_secret(rt: Runtime, tenant_id: uuid.UUID) -> str | None:
    """The tenant's signing secret, read in its own short transaction (see require_tenant)."""
    with session_scope(rt.sessions) as s:
        secret: str | None = s.execute(
            select(Tenant.webhook_secret).where(Tenant.id == tenant_id)
        ).scalar()
        return secret
