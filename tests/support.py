"""Helpers for tests: signed posts, multipart bodies, waiting for jobs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import Conversation, Job
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from service.webhooks.signature import sign

BOUNDARY = "dealsight-test-boundary-7f3a"


def multipart_body(
    metadata: dict[str, Any] | bytes | None,
    file: bytes | None,
    *,
    filename: str = "call.wav",
    content_type: str = "audio/wav",
) -> tuple[bytes, str]:
    """A multipart/form-data body with optional 'metadata' and 'file' parts."""
    parts: list[bytes] = []
    if metadata is not None:
        raw = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            f"Content-Type: application/json\r\n\r\n".encode()
            + raw
            + b"\r\n"
        )
    if file is not None:
        parts.append(
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + file
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def post_webhook(
    client: TestClient | httpx.Client,
    creds: TenantCredentials,
    body: bytes,
    content_type: str = "application/json",
    *,
    timestamp: int | None = None,
    secret: str | None = None,
    tenant_id: str | None = None,
) -> httpx.Response:
    """POST a correctly signed (unless told otherwise) webhook."""
    header = sign(secret or creds.webhook_secret, body, timestamp=timestamp)
    return client.post(
        f"/v1/webhooks/crm/{tenant_id or creds.tenant_id}",
        content=body,
        headers={"Content-Type": content_type, "X-Dealsight-Signature": header},
    )


def auth(creds: TenantCredentials) -> dict[str, str]:
    """The Authorization header for a tenant."""
    return {"Authorization": f"Bearer {creds.api_key}"}


def wait_for(
    client: TestClient | httpx.Client,
    creds: TenantCredentials,
    conversation_id: str,
    *,
    statuses: tuple[str, ...] = ("done", "failed"),
    timeout: float = 180.0,
) -> dict[str, Any]:
    """Poll the conversation until its status is one of statuses."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/v1/conversations/{conversation_id}", headers=auth(creds))
        assert r.status_code == 200, r.text
        last = r.json()
        if last["status"] in statuses:
            return last
        time.sleep(0.2)
    raise AssertionError(f"conversation still {last.get('status')} after {timeout} s: {last}")


def count_rows(settings: Settings, tenant_id: str) -> tuple[int, int]:
    """(conversations, jobs) stored for a tenant."""
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            tid = uuid.UUID(tenant_id)
            convs = s.execute(
                select(func.count()).where(Conversation.tenant_id == tid)
            ).scalar_one()
            jobs = s.execute(select(func.count()).where(Job.tenant_id == tid)).scalar_one()
            return int(convs), int(jobs)
    finally:
        engine.dispose()


def metadata(external_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """Typical CRM metadata for a call."""
    meta: dict[str, Any] = {
        "external_id": external_id or f"call-{uuid.uuid4().hex[:8]}",
        "deal": {
            "external_id": "D-1",
            "name": "Acme renewal",
            "stage": "proposal",
            "amount": 42000,
        },
        "rep": {
            "external_id": "R-1",
            "name": "Dana Smith",
            "email": "dana@seller.example",
            "team": "East",
        },
        "participants": [{"name": "Chris Lee", "role": "customer"}],
        "started_at": "2026-11-20T15:00:00Z",
        "direction": "outbound",
        "channels": {"0": "rep", "1": "customer"},
        "playbook": {"experiment": "opener-q4", "variant": "B"},
    }
    meta.update(extra)
    return meta
