"""Direct uploads end to end: real audio through the real Whisper model to a stored transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nlp.transcribe import word_error_rate
from service.app import create_app
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO, make_settings, new_tenant
from tests.support import auth, metadata, multipart_body, wait_for


def upload(client: TestClient, creds: TenantCredentials, clip: str, **meta: object) -> str:
    body, ctype = multipart_body(metadata(**meta), (AUDIO / clip).read_bytes(), filename=clip)
    r = client.post("/v1/calls", content=body, headers={**auth(creds), "Content-Type": ctype})
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def test_stereo_call_is_transcribed_with_rep_and_customer(
    client: TestClient, tenant: TenantCredentials
) -> None:
    cid = upload(client, tenant, "dialogue_stereo.wav")
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv["error"]
    assert conv["error"] is None
    assert conv["language"] == "en"
    assert conv["duration"] == pytest.approx(41.98, abs=0.1)
    ref = json.loads((AUDIO / "dialogue_stereo.json").read_text())
    segments = conv["segments"]
    assert {s["speaker"] for s in segments} == {"rep", "customer"}
    # Each reference turn: the words spoken in its time window carry the right speaker.
    right = 0
    for turn in ref["turns"]:
        words = [
            (w, s["speaker"])
            for s in segments
            for w in s["words"]
            if turn["start"] - 0.3 <= w["start"] <= turn["end"] + 0.3
        ]
        if words and sum(sp == turn["speaker"] for _, sp in words) / len(words) >= 0.8:
            right += 1
    assert right / len(ref["turns"]) >= 0.9
    hyp = " ".join(s["text"] for s in segments)
    assert word_error_rate(" ".join(t["text"] for t in ref["turns"]), hyp) < 0.25
    for s in segments:
        assert s["start"] <= s["end"]
        for w in s["words"]:
            assert 0.0 <= w["prob"] <= 1.0 and w["start"] <= w["end"]
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts)
    metrics = conv["metrics"]
    assert 0.2 < metrics["rep_talk_ratio"] < 0.8
    assert metrics["speaker_switches"] >= len(ref["turns"]) // 2


def test_swapped_channel_map_swaps_speakers(client: TestClient, tenant: TenantCredentials) -> None:
    cid = upload(client, tenant, "dialogue_stereo.wav", channels={"0": "customer", "1": "rep"})
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done"
    first = conv["segments"][0]
    assert "dana" in first["text"].lower() and first["speaker"] == "customer"


@pytest.mark.parametrize("clip", ["dialogue_mono.mp3", "dialogue_mono.opus"])
def test_compressed_formats_are_transcribed(
    client: TestClient, tenant: TenantCredentials, clip: str
) -> None:
    cid = upload(client, tenant, clip, channels=None)
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv["error"]
    ref = json.loads((AUDIO / "dialogue_stereo.json").read_text())
    hyp = " ".join(s["text"] for s in conv["segments"])
    # Low-bitrate synthetic speech costs some words, not the conversation.
    assert word_error_rate(" ".join(t["text"] for t in ref["turns"]), hyp) < 0.35


@pytest.mark.parametrize(
    ("clip", "code"),
    [
        ("not_audio.wav", "unsupported_media"),
        ("empty.wav", "empty_audio"),
        ("silence.wav", "no_speech"),
        ("truncated.mp3", "truncated_media"),
    ],
)
def test_bad_audio_fails_with_a_code_and_keeps_the_file(
    client: TestClient, tenant: TenantCredentials, settings: Settings, clip: str, code: str
) -> None:
    cid = upload(client, tenant, clip)
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "failed"
    assert conv["error"]["code"] == code
    assert conv["error"]["message"]
    stored = [p for p in settings.blob_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert [p.read_bytes() for p in stored] == [(AUDIO / clip).read_bytes()]


def test_too_long_recording_fails_with_too_long(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, asr={"max_duration_s": 2.0})
    creds = new_tenant(settings)
    with TestClient(create_app(settings)) as c:
        conv = wait_for(c, creds, upload(c, creds, "short_mono.wav"))
    assert conv["status"] == "failed" and conv["error"]["code"] == "too_long"


def test_api_key_is_required(idle_client: TestClient, tenant: TenantCredentials) -> None:
    body, ctype = multipart_body(metadata(), (AUDIO / "short_mono.wav").read_bytes())
    r = idle_client.post("/v1/calls", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    for bad in ("Bearer nope", "Basic abc", "Bearer dsk_00000000_wrong", "Bearer " + "x" * 5000):
        r = idle_client.post(
            "/v1/calls", content=body, headers={"Content-Type": ctype, "Authorization": bad}
        )
        assert r.status_code == 401, bad


def test_other_tenants_conversation_is_404(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    body, ctype = multipart_body(metadata(), (AUDIO / "short_mono.wav").read_bytes())
    cid = idle_client.post(
        "/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype}
    ).json()["conversation_id"]
    assert idle_client.get(f"/v1/conversations/{cid}", headers=auth(tenant)).status_code == 200
    r = idle_client.get(f"/v1/conversations/{cid}", headers=auth(other_tenant))
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert idle_client.get("/v1/conversations/not-a-uuid", headers=auth(tenant)).status_code == 404
    listed = idle_client.get("/v1/conversations", headers=auth(other_tenant)).json()
    assert listed["items"] == []


def test_same_external_id_from_two_tenants_is_two_conversations(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    body, ctype = multipart_body(metadata("shared-id"), (AUDIO / "short_mono.wav").read_bytes())
    a = idle_client.post("/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype})
    b = idle_client.post(
        "/v1/calls", content=body, headers={**auth(other_tenant), "Content-Type": ctype}
    )
    assert a.status_code == b.status_code == 202
    assert a.json()["conversation_id"] != b.json()["conversation_id"]


def test_list_filters_and_pagination(idle_client: TestClient, tenant: TenantCredentials) -> None:
    wav = (AUDIO / "short_mono.wav").read_bytes()
    for i in range(5):
        deal = {"external_id": "D-A" if i % 2 == 0 else "D-B"}
        body, ctype = multipart_body(metadata(f"c{i}", deal=deal), wav)
        assert (
            idle_client.post(
                "/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype}
            ).status_code
            == 202
        )
    r = idle_client.get(
        "/v1/conversations", params={"deal_external_id": "D-A"}, headers=auth(tenant)
    )
    assert {c["external_id"] for c in r.json()["items"]} == {"c0", "c2", "c4"}
    r = idle_client.get("/v1/conversations", params={"status": "done"}, headers=auth(tenant))
    assert r.json()["items"] == []
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = idle_client.get("/v1/conversations", params=params, headers=auth(tenant)).json()
        seen += [c["external_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"c{i}" for i in range(5)]
    r = idle_client.get(
        "/v1/conversations", params={"since": "2999-01-01T00:00:00Z"}, headers=auth(tenant)
    )
    assert r.json()["items"] == []
    assert (
        idle_client.get(
            "/v1/conversations", params={"status": "bogus"}, headers=auth(tenant)
        ).status_code
        == 422
    )
    assert (
        idle_client.get(
            "/v1/conversations", params={"cursor": "!!"}, headers=auth(tenant)
        ).status_code
        == 400
    )
    assert (
        idle_client.get(
            "/v1/conversations", params={"limit": 10_000}, headers=auth(tenant)
        ).status_code
        == 422
    )
