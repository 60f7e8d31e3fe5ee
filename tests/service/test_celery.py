"""The distributed path: a real Celery worker process on a real Redis (and RabbitMQ) broker."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO, REDIS_URL, make_settings, need_service, new_tenant
from tests.processes import DEALSIGHT, Proc, long_stereo, service_env
from tests.support import auth, metadata, multipart_body, wait_for

pytestmark = pytest.mark.celery
AMQP_URL = os.environ.get("DEALSIGHT_TEST_AMQP_URL", "")


def _broker_reachable(url: str) -> str | None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return str(exc)


@pytest.fixture(params=["redis", "amqp"])
def broker_url(request: pytest.FixtureRequest) -> str:
    base = REDIS_URL if request.param == "redis" else AMQP_URL
    var = "DEALSIGHT_TEST_REDIS_URL" if request.param == "redis" else "DEALSIGHT_TEST_AMQP_URL"
    need_service(request.param, bool(base), f"set {var}")
    problem = _broker_reachable(base)
    need_service(request.param, problem is None, f"{base}: {problem}")
    if request.param == "redis":
        # A private Redis database per test: no stale messages from earlier runs.
        import redis

        db = 9
        url = base.rsplit("/", 1)[0] + f"/{db}" if base.count("/") >= 3 else f"{base}/{db}"
        redis.Redis.from_url(url).flushdb()
        return url
    return base


@pytest.fixture
def celery_settings(database_url: str, tmp_path: Path, broker_url: str) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        jobs={"executor": "celery", "broker_url": broker_url, "lease_s": 600.0},
    )


def start_worker(settings: Settings, database_url: str, log: Path) -> Proc:
    env = service_env(
        settings.data_dir,
        database_url,
        DEALSIGHT_JOBS__EXECUTOR="celery",
        DEALSIGHT_JOBS__BROKER_URL=settings.jobs.broker_url,
        DEALSIGHT_JOBS__LEASE_S="600",
    )
    proc = Proc([DEALSIGHT, "worker", "--concurrency", "1"], env, log)
    deadline = time.monotonic() + 60
    while "ready" not in proc.output():
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"worker did not start:\n{proc.output()}")
        time.sleep(0.2)
    return proc


@pytest.fixture
def api(celery_settings: Settings) -> Iterator[tuple[TestClient, TenantCredentials]]:
    creds = new_tenant(celery_settings)
    with TestClient(create_app(celery_settings)) as c:
        yield c, creds


def _upload(c: TestClient, creds: TenantCredentials, audio: bytes) -> str:
    body, ctype = multipart_body(metadata(), audio)
    r = c.post("/v1/calls", content=body, headers={**auth(creds), "Content-Type": ctype})
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def test_celery_worker_transcribes_a_call(
    api: tuple[TestClient, TenantCredentials],
    celery_settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    c, creds = api
    assert c.get("/readyz").json()["checks"]["executor"] == "ok"
    worker = start_worker(celery_settings, database_url, tmp_path / "worker.log")
    try:
        conv = wait_for(c, creds, _upload(c, creds, (AUDIO / "dialogue_stereo.wav").read_bytes()))
        bad = wait_for(c, creds, _upload(c, creds, (AUDIO / "not_audio.wav").read_bytes()))
    finally:
        worker.stop()
    assert conv["status"] == "done", conv["error"]
    assert {s["speaker"] for s in conv["segments"]} == {"rep", "customer"}
    assert bad["status"] == "failed" and bad["error"]["code"] == "unsupported_media"


@pytest.mark.slow
def test_sigkilled_celery_worker_loses_nothing(
    api: tuple[TestClient, TenantCredentials],
    celery_settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    c, creds = api
    audio = long_stereo(tmp_path / "long.wav").read_bytes()
    worker = start_worker(celery_settings, database_url, tmp_path / "worker1.log")
    try:
        cid = _upload(c, creds, audio)
        deadline = time.monotonic() + 120
        while (
            c.get(f"/v1/conversations/{cid}", headers=auth(creds)).json()["status"]
            != "transcribing"
        ):
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.05)
        time.sleep(1.0)
    finally:
        worker.kill()  # parent and its prefork children, mid-transcription
    assert c.get(f"/v1/conversations/{cid}", headers=auth(creds)).json()["status"] == "transcribing"
    worker = start_worker(celery_settings, database_url, tmp_path / "worker2.log")
    try:
        conv = wait_for(c, creds, cid, timeout=300)
    finally:
        worker.stop()
    assert conv["status"] == "done", conv["error"]
    assert conv["duration"] == pytest.approx(5 * 41.98, abs=1)
