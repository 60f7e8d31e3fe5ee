"""Storing emails as conversations (parsed at once, analysed by a job); never commits."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

from sqlalchemy.orm import Session

from models import Conversation, Tenant
from models.base import new_id, utcnow
from nlp.email import EmailError, ParsedEmail, email_from_fields, parse_email
from service.conversations.service import deal_team, insert_with_job
from service.emails.schemas import EmailIn
from service.errors import BadRequest, PayloadTooLarge
from service.jobs.runtime import Runtime


def parse(body: EmailIn, *, own_domains: list[str], max_bytes: int) -> ParsedEmail:
    """Parse the posted email or raise a 400 (413) that names the problem."""
    try:
        if body.raw is not None:
            return parse_email(body.raw, own_domains=own_domains, max_bytes=max_bytes)
        return email_from_fields(
            body.from_ or "",
            body.to or [],
            body.subject,
            body.body or "",
            body.sent_at,
            body.message_id,
            body.in_reply_to,
            body.references,
            own_domains=own_domains,
            cc=body.cc or [],
            max_bytes=max_bytes,
        )
    except EmailError as exc:
        if exc.code == "too_large":
            raise PayloadTooLarge(exc.message, code="email_too_large") from exc
        raise BadRequest(exc.message, code=exc.code) from exc


def ingest_email(
    session: Session, *, rt: Runtime, tenant_id: uuid.UUID, source: str, body: EmailIn
) -> tuple[Conversation, bool]:
    """Store a new email and queue its analysis, or find the one already stored."""
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    max_bytes = rt.settings.storage.max_json_bytes * 10
    parsed = parse(body, own_domains=list(tenant.email_domains or []), max_bytes=max_bytes)
    external_id = body.external_id or parsed.message_id
    if not external_id:
        # No id from the CRM and no Message-ID: the content itself identifies a retry.
        digest = hashlib.sha256((body.raw or body.body or "").encode("utf-8", "replace"))
        external_id = "sha256:" + digest.hexdigest()
    raw_bytes = (body.raw or body.body or "").encode("utf-8", "replace")
    blob = rt.store.put_file(io.BytesIO(raw_bytes), max_bytes=max(1, len(raw_bytes)))
    now = utcnow()
    team = deal_team(session, tenant_id=tenant_id, deal=body.deal, rep=body.rep, seen_at=now)
    meta: dict[str, Any] = body.model_dump(
        mode="json", exclude_none=True, exclude={"raw", "body"}, by_alias=True
    )
    meta["email"] = {
        "subject": parsed.subject,
        "from": parsed.sender,
        "from_name": parsed.sender_name,
        "to": list(parsed.recipients),
        "sent_at": parsed.sent_at.isoformat() if parsed.sent_at else None,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "direction": parsed.direction,
        "new_text": parsed.new_text,
        "auto_reply": parsed.auto_reply,
        "warnings": list(parsed.warnings),
    }
    values: dict[str, Any] = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "kind": "email",
        "source": source,
        "external_id": external_id[:255],
        "status": "queued",
        "deal_external_id": body.deal.external_id if body.deal else None,
        "rep_external_id": body.rep.external_id if body.rep else None,
        "team": team,
        "started_at": parsed.sent_at,
        "direction": parsed.direction if parsed.direction != "unknown" else None,
        "thread_key": parsed.thread_key[:255],
        "meta": meta,
        "blob_key": blob.key,
        "media_bytes": blob.size,
        "media_type": "message/rfc822" if body.raw is not None else "text/plain",
        "created_at": now,
        "updated_at": now,
    }
    return insert_with_job(session, rt=rt, values=values, first_job="analyze")


def email_speaker(direction: str | None) -> str:
    """Who wrote an email: inbound is the customer, outbound the rep."""
    return {"inbound": "customer", "outbound": "rep"}.get(direction or "", "unknown")
