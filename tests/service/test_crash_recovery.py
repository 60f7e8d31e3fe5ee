"""A server killed with SIGKILL mid-transcription loses nothing: the job finishes after restart."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from models import Conversation, Job
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.processes import long_stereo, service_env, start_server
from tests.support import auth, metadata, multipart_body, wait_for

pytestmark = pytest.mark.slow


def _jobs(settings: Settings, conversation_id: str) -> dict[str, Job]:
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            rows = s.execute(
                select(Job).where(Job.conversation_id == uuid.UUID(conversation_id))
            ).scalars()
            return {j.kind: j for j in rows}
    finally:
        engine.dispose()


def wait_status(
    client: httpx.Client, creds: TenantCredentials, cid: str, status: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.get(f"/v1/conversations/{cid}", headers=auth(creds)).json()
        if got["status"] == status:
            return
        assert got["status"] not in ("done", "failed"), got
        time.sleep(0.05)
    raise AssertionError(f"never reached {status}")


def test_sigkill_mid_transcription_then_restart_finishes(
    settings: Settings, tenant: TenantCredentials, database_url: str, tmp_path: Path
) -> None:
    audio = long_stereo(tmp_path / "long.wav").read_bytes()
    # A long lease: recovery must come from spotting the dead process, not from waiting it out.
    env = service_env(settings.data_dir, database_url, DEALSIGHT_JOBS__LEASE_S="600")
    server, url = start_server(env, tmp_path / "server1.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            body, ctype = multipart_body(metadata(), audio)
            r = c.post("/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype})
            assert r.status_code == 202, r.text
            cid = r.json()["conversation_id"]
            wait_status(c, tenant, cid, "transcribing")
            time.sleep(1.0)
    finally:
        server.kill()
    jobs = _jobs(settings, cid)
    assert jobs["transcribe"].state == "running" and jobs["transcribe"].attempts == 1
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine)) as s:
        conv = s.get(Conversation, uuid.UUID(cid))
        assert conv is not None and conv.blob_key
        assert (
            settings.blob_dir / conv.blob_key[:2] / conv.blob_key[2:4] / conv.blob_key
        ).stat().st_size == len(audio)
    engine.dispose()

    server, url = start_server(env, tmp_path / "server2.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            conv_out = wait_for(c, tenant, cid, timeout=300)
    finally:
        server.stop()
    assert conv_out["status"] == "done", conv_out["error"]
    assert conv_out["segments"]
    jobs = _jobs(settings, cid)
    assert jobs["transcribe"].state == "succeeded" and jobs["transcribe"].attempts == 2
    assert jobs["analyze"].state == "succeeded"
    assert conv_out["duration"] == pytest.approx(5 * 41.98, abs=1)


def test_accepted_but_undelivered_job_runs_after_restart(
    settings: Settings, tenant: TenantCredentials, database_url: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.conftest import AUDIO

    with TestClient(create_app(settings, start_workers=False)) as c:
        body, ctype = multipart_body(metadata(), (AUDIO / "short_mono.wav").read_bytes())
        cid = c.post(
            "/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype}
        ).json()["conversation_id"]
    # Accepted, committed, never delivered: as if the server died right after answering 202.
    assert _jobs(settings, cid)["transcribe"].state == "queued"
    env = service_env(settings.data_dir, database_url)
    server, url = start_server(env, tmp_path / "s2.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            assert wait_for(c, tenant, cid, timeout=120)["status"] == "done"
    finally:
        server.stop()
