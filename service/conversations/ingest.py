"""Turning a received body into a stored conversation, shared by the webhook and the upload API."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.conversations.schemas import IngestResult, RecordingEvent
from service.conversations.service import ingest_recording
from service.errors import BadRequest, ServiceError
from service.jobs.runtime import Runtime
from service.storage import StoredBlob
from service.uploads import ReceivedBody


class InvalidMetadata(ServiceError):
    """The metadata JSON does not match the schema."""

    status_code = 422
    code = "validation_error"

    def __init__(self, exc: ValidationError) -> None:
        super().__init__("invalid metadata")
        self.errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        self.message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in self.errors
        )


def parse_json_object(raw: bytes, *, what: str) -> dict[str, Any]:
    """Decode a JSON object or raise a clear 400."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object", code="invalid_json")
    return value


def event_payload(body: ReceivedBody) -> dict[str, Any]:
    """The JSON object of a webhook or upload: the whole body, or the 'metadata' part."""
    if body.kind == "json":
        return parse_json_object(body.json, what="the body")
    raw = body.fields.get("metadata")
    if raw is None:
        raise BadRequest("multipart body without a 'metadata' part", code="missing_metadata")
    return parse_json_object(raw, what="the 'metadata' part")


def recording_event(payload: dict[str, Any]) -> RecordingEvent:
    """Validate a recording.created payload."""
    try:
        return RecordingEvent.model_validate(payload)
    except ValidationError as exc:
        raise InvalidMetadata(exc) from exc


async def accept_recording(
    *,
    session: Session,
    rt: Runtime,
    tenant_id: uuid.UUID,
    source: str,
    body: ReceivedBody,
    event: RecordingEvent,
) -> JSONResponse:
    """Commit the file, then the rows (in the request's transaction); 202 new, 200 repeated."""
    if body.file is not None and event.recording_url is not None:
        body.discard()
        raise BadRequest(
            "send either a file or a recording_url, not both", code="ambiguous_recording"
        )
    if body.file is None and event.recording_url is None:
        raise BadRequest("send a 'file' part or a 'recording_url'", code="no_recording")
    blob: StoredBlob | None = None
    if body.file is not None:
        # The file is durable on disk before any row points at it.
        blob = await run_in_threadpool(body.file.writer.commit)
    conv, created = await run_in_threadpool(
        lambda: ingest_recording(
            session,
            rt=rt,
            tenant_id=tenant_id,
            source=source,
            meta=event,
            blob=blob,
            filename=body.file.filename if body.file else None,
            media_type=body.file.content_type if body.file else None,
        )
    )
    result = IngestResult(conversation_id=conv.id, status=conv.status, duplicate=not created)  # type: ignore[arg-type]
    return JSONResponse(result.model_dump(mode="json"), status_code=202 if created else 200)
