"""The CRM webhook: signatures, replays, formats, limits and idempotency."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO, make_settings
from tests.support import count_rows, metadata, multipart_body, post_webhook

WAV = (AUDIO / "short_mono.wav").read_bytes()


def _json_event(**extra: object) -> bytes:
    return json.dumps(
        {
            "event": "recording.created",
            **metadata(),
            "recording_url": "https://crm.example/r/1.wav",
            **extra,
        }
    ).encode()


def _blobs(settings: Settings) -> list[Path]:
    return [p for p in settings.blob_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"]


def test_json_event_with_url_is_accepted(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    r = post_webhook(idle_client, tenant, _json_event())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["duplicate"] is False
    uuid.UUID(body["conversation_id"])
    assert count_rows(settings, tenant.tenant_id) == (1, 1)


def test_multipart_event_stores_file_before_answering(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    body, ctype = multipart_body(metadata(), WAV)
    r = post_webhook(idle_client, tenant, body, ctype)
    assert r.status_code == 202, r.text
    blobs = _blobs(settings)
    assert len(blobs) == 1 and blobs[0].read_bytes() == WAV
    assert not list((settings.blob_dir / "tmp").glob("upload-*"))


def test_same_external_id_twice_is_one_conversation(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    event = _json_event()
    first = post_webhook(idle_client, tenant, event)
    second = post_webhook(idle_client, tenant, event)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["conversation_id"] == second.json()["conversation_id"]
    assert second.json()["duplicate"] is True
    assert count_rows(settings, tenant.tenant_id) == (1, 1)


def test_concurrent_duplicates_make_one_conversation_and_one_job(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    event = _json_event()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: post_webhook(idle_client, tenant, event), range(16)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(202) == 1 and codes.count(200) == 15, codes
    assert len({r.json()["conversation_id"] for r in responses}) == 1
    assert count_rows(settings, tenant.tenant_id) == (1, 1)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_signature"),
        ("garbage", "malformed_signature"),
        ("t=abc,v1=00", "malformed_signature"),
        ("t=123", "malformed_signature"),
    ],
)
def test_missing_or_malformed_signature_is_401(
    idle_client: TestClient,
    tenant: TenantCredentials,
    settings: Settings,
    header: str | None,
    code: str,
) -> None:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Dealsight-Signature"] = header
    r = idle_client.post(
        f"/v1/webhooks/crm/{tenant.tenant_id}", content=_json_event(), headers=headers
    )
    assert r.status_code == 401
    assert r.json()["error"] == code
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_wrong_secret_is_401(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(), secret="whsec_not_the_right_one")
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_other_tenants_secret_is_401(
    idle_client: TestClient,
    tenant: TenantCredentials,
    other_tenant: TenantCredentials,
    settings: Settings,
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(), secret=other_tenant.webhook_secret)
    assert r.status_code == 401
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_tampered_body_is_401(idle_client: TestClient, tenant: TenantCredentials) -> None:
    from service.webhooks.signature import sign

    body = _json_event()
    header = sign(tenant.webhook_secret, body)
    tampered = body.replace(b"D-1", b"D-2")
    r = idle_client.post(
        f"/v1/webhooks/crm/{tenant.tenant_id}",
        content=tampered,
        headers={"Content-Type": "application/json", "X-Dealsight-Signature": header},
    )
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"


@pytest.mark.parametrize("offset", [-301, -3600, 301, 86400])
def test_stale_or_future_timestamp_is_401(
    idle_client: TestClient, tenant: TenantCredentials, offset: int
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(), timestamp=int(time.time()) + offset)
    assert r.status_code == 401 and r.json()["error"] == "stale_signature"


def test_timestamp_within_tolerance_is_accepted(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(), timestamp=int(time.time()) - 250)
    assert r.status_code == 202


def test_signed_multipart_with_bad_signature_stores_nothing(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    body, ctype = multipart_body(metadata(), WAV)
    r = post_webhook(idle_client, tenant, body, ctype, secret="whsec_wrong")
    assert r.status_code == 401
    assert _blobs(settings) == []
    assert not list((settings.blob_dir / "tmp").glob("upload-*"))


@pytest.mark.parametrize("tenant_id", ["not-a-uuid", str(uuid.uuid4()), "../../etc/passwd"])
def test_unknown_tenant_is_404(
    idle_client: TestClient, tenant: TenantCredentials, tenant_id: str
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(), tenant_id=tenant_id)
    assert r.status_code == 404


def test_invalid_json_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(idle_client, tenant, b'{"event": "recording.created", "external_id": ')
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"


def test_json_array_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(idle_client, tenant, b"[1, 2, 3]")
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"


def test_binary_garbage_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(idle_client, tenant, bytes(range(256)) * 4)
    assert r.status_code == 400


def test_unsupported_event_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(
        idle_client, tenant, json.dumps({"event": "call.deleted", "external_id": "x"}).encode()
    )
    assert r.status_code == 400 and r.json()["error"] == "unsupported_event"


@pytest.mark.parametrize(
    "bad",
    [
        {"external_id": ""},
        {"external_id": "x" * 300},
        {"channels": {"left": "rep"}},
        {"channels": {"0": "boss"}},
        {"direction": "sideways"},
        {"deal": {"name": "no id"}},
        {"started_at": "yesterday-ish"},
        {"recording_url": "ftp://crm.example/file.wav"},
        {"deal": {"external_id": "D", "amount": -5}},
    ],
)
def test_invalid_metadata_is_422_with_field(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings, bad: dict[str, object]
) -> None:
    r = post_webhook(idle_client, tenant, _json_event(**bad))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert r.json()["detail"]
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_missing_external_id_is_422(idle_client: TestClient, tenant: TenantCredentials) -> None:
    event = json.loads(_json_event())
    del event["external_id"]
    r = post_webhook(idle_client, tenant, json.dumps(event).encode())
    assert r.status_code == 422 and "external_id" in r.json()["detail"]


def test_no_file_and_no_url_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(
        idle_client, tenant, json.dumps({"event": "recording.created", **metadata()}).encode()
    )
    assert r.status_code == 400 and r.json()["error"] == "no_recording"


def test_file_and_url_together_is_400_and_stores_nothing(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    body, ctype = multipart_body(metadata(recording_url="https://crm.example/x.wav"), WAV)
    r = post_webhook(idle_client, tenant, body, ctype)
    assert r.status_code == 400 and r.json()["error"] == "ambiguous_recording"
    assert _blobs(settings) == []


def test_multipart_without_metadata_is_400(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    body, ctype = multipart_body(None, WAV)
    r = post_webhook(idle_client, tenant, body, ctype)
    assert r.status_code == 400 and r.json()["error"] == "missing_metadata"
    assert _blobs(settings) == []


def test_truncated_multipart_is_400_and_stores_nothing(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    body, ctype = multipart_body(metadata(), WAV)
    r = post_webhook(idle_client, tenant, body[: len(body) // 2], ctype)
    assert r.status_code == 400 and r.json()["error"] == "malformed_multipart"
    assert _blobs(settings) == []
    assert not list((settings.blob_dir / "tmp").glob("upload-*"))
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_multipart_without_boundary_is_400(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    body, _ = multipart_body(metadata(), WAV)
    r = post_webhook(idle_client, tenant, body, "multipart/form-data")
    assert r.status_code == 400


def test_wrong_content_type_is_415(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = post_webhook(idle_client, tenant, b"external_id=1", "application/x-www-form-urlencoded")
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"


def test_oversized_file_is_413_and_stores_nothing(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, storage={"max_upload_bytes": 10_000})
    from tests.conftest import new_tenant

    creds = new_tenant(settings)
    with TestClient(create_app(settings, start_workers=False)) as c:
        body, ctype = multipart_body(metadata(), WAV)
        assert len(WAV) > 10_000
        r = post_webhook(c, creds, body, ctype)
        assert r.status_code == 413

        # Without a Content-Length header the limit still holds while streaming.
        def chunks() -> object:
            for i in range(0, len(body), 4096):
                yield body[i : i + 4096]

        from service.webhooks.signature import sign

        r2 = c.post(
            f"/v1/webhooks/crm/{creds.tenant_id}",
            content=chunks(),  # type: ignore[arg-type]
            headers={
                "Content-Type": ctype,
                "X-Dealsight-Signature": sign(creds.webhook_secret, body),
            },
        )
        assert r2.status_code == 413
    assert [p for p in settings.blob_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"] == []
    assert count_rows(settings, creds.tenant_id) == (0, 0)


def test_oversized_json_is_413(idle_client: TestClient, tenant: TenantCredentials) -> None:
    big = _json_event(notes="x" * (2 * 1024 * 1024))
    r = post_webhook(idle_client, tenant, big)
    assert r.status_code == 413


def test_playbook_and_metadata_are_stored(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    from tests.support import auth

    r = post_webhook(idle_client, tenant, _json_event(custom_field="kept"))
    cid = r.json()["conversation_id"]
    got = idle_client.get(f"/v1/conversations/{cid}", headers=auth(tenant)).json()
    assert got["playbook"] == {"experiment": "opener-q4", "variant": "B"}
    assert got["deal_external_id"] == "D-1" and got["rep_external_id"] == "R-1"
    assert got["metadata"]["custom_field"] == "kept"
    assert got["metadata"]["channels"] == {"0": "rep", "1": "customer"}
    assert got["segments"] is None
