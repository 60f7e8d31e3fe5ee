"""Conversation endpoints: direct uploads, one conversation, the list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.auth import TenantDep
from service.conversations import service
from service.conversations.ingest import accept_recording, event_payload, recording_event
from service.conversations.schemas import (
    ConversationOut,
    ConversationPage,
    ConversationSummary,
    IngestResult,
    Status,
)
from service.db import SessionDep
from service.uploads import receive_body

router = APIRouter(tags=["conversations"])


@router.post(
    "/v1/calls",
    status_code=202,
    response_model=IngestResult,
    responses={200: {"description": "already received"}, 401: {}, 413: {}, 415: {}},
)
async def upload_call(request: Request, tenant: TenantDep, session: SessionDep) -> JSONResponse:
    """Upload a recording: multipart 'metadata' (JSON) + 'file', or JSON with a recording_url."""
    ctx = request.app.state.ctx
    tenant_id = tenant.id
    body = await receive_body(
        request,
        store=ctx.runtime.store,
        max_file_bytes=ctx.settings.storage.max_upload_bytes,
        max_json_bytes=ctx.settings.storage.max_json_bytes,
    )
    try:
        event = recording_event(event_payload(body))
    except Exception:
        body.discard()
        raise
    return await accept_recording(
        session=session, rt=ctx.runtime, tenant_id=tenant_id, source="api", body=body, event=event
    )


@router.get("/v1/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: str, tenant: TenantDep, session: SessionDep
) -> ConversationOut:
    """One conversation: status, error, and the transcript once done."""
    conv = service.get_conversation(session, tenant_id=tenant.id, conversation_id=conversation_id)
    return service.detail(session, conv)


@router.get("/v1/conversations", response_model=ConversationPage)
def list_conversations(
    tenant: TenantDep,
    session: SessionDep,
    deal_external_id: Annotated[str | None, Query(max_length=255)] = None,
    status: Status | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ConversationPage:
    """The tenant's conversations, newest first; follow next_cursor for more."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return service.list_conversations(
        session,
        tenant_id=tenant.id,
        deal_external_id=deal_external_id,
        status=status,
        since=since,
        limit=limit,
        cursor=cursor,
    )


@router.post(
    "/v1/conversations/{conversation_id}/reanalyze",
    status_code=202,
    response_model=ConversationSummary,
    responses={404: {}, 409: {"description": "not transcribed yet"}},
)
def reanalyze_conversation(
    conversation_id: str, request: Request, tenant: TenantDep, session: SessionDep
) -> ConversationSummary:
    """Analyse again with today's catalogue, trackers and model, without re-transcribing."""
    conv = service.get_conversation(session, tenant_id=tenant.id, conversation_id=conversation_id)
    service.reanalyze(session, rt=request.app.state.ctx.runtime, conversation=conv)
    return service.summary(conv)
