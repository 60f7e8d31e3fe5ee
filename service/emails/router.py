"""POST /v1/emails: emails to and from prospects, analysed like calls."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.auth import TenantDep
from service.conversations.schemas import IngestResult
from service.db import SessionDep
from service.emails.schemas import EmailIn
from service.emails.service import ingest_email

router = APIRouter(tags=["emails"])


@router.post(
    "/v1/emails",
    status_code=202,
    response_model=IngestResult,
    responses={200: {"description": "already received"}, 400: {}, 401: {}, 413: {}},
)
def post_email(
    body: EmailIn, request: Request, tenant: TenantDep, session: SessionDep
) -> JSONResponse:
    """Store an email (raw RFC 822 or fields) and queue its analysis."""
    conv, created = ingest_email(
        session, rt=request.app.state.ctx.runtime, tenant_id=tenant.id, source="api", body=body
    )
    result = IngestResult(conversation_id=conv.id, status=conv.status, duplicate=not created)  # type: ignore[arg-type]
    return JSONResponse(result.model_dump(mode="json"), status_code=202 if created else 200)
