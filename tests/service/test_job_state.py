"""The job state machine on a real database: claims, leases, retries, exhaustion, sweeping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from models import Conversation, Job
from models.base import utcnow
from service.db import make_engine, make_sessionmaker, session_scope
from service.jobs import state
from service.settings import Settings
from service.tenants.service import TenantCredentials


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    engine.dispose()


def _job(
    sessions: sessionmaker[Session], tenant: TenantCredentials, kind: str = "transcribe"
) -> uuid.UUID:
    with session_scope(sessions) as s:
        conv = Conversation(
            tenant_id=uuid.UUID(tenant.tenant_id),
            source="api",
            external_id=uuid.uuid4().hex,
            meta={},
        )
        s.add(conv)
        s.flush()
        return state.enqueue(s, conversation=conv, kind=kind, max_attempts=3).id


def test_only_one_worker_can_claim(
    sessions: sessionmaker[Session], tenant: TenantCredentials
) -> None:
    job_id = _job(sessions, tenant)
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner="a", lease_s=60) is not None
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner="b", lease_s=60) is None


def test_expired_lease_can_be_taken_over(
    sessions: sessionmaker[Session], tenant: TenantCredentials
) -> None:
    job_id = _job(sessions, tenant)
    with session_scope(sessions) as s:
        state.claim(s, job_id=job_id, owner="a", lease_s=60)
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(sessions) as s:
        job = state.claim(s, job_id=job_id, owner="b", lease_s=60)
        assert job is not None and job.attempts == 2 and job.lease_owner == "b"
    with session_scope(sessions) as s:
        # The first owner lost the lease: it can neither renew nor write results.
        assert not state.renew(s, job_id=job_id, owner="a", lease_s=60)
        assert not state.still_owned(s, job_id=job_id, owner="a")
        assert state.renew(s, job_id=job_id, owner="b", lease_s=60)


def test_retry_waits_for_backoff(
    sessions: sessionmaker[Session], tenant: TenantCredentials
) -> None:
    job_id = _job(sessions, tenant)
    with session_scope(sessions) as s:
        job = state.claim(s, job_id=job_id, owner="a", lease_s=60)
        assert job is not None
        state.retry_later(s, job=job, code="fetch_timeout", message="slow", delay_s=3600)
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner="a", lease_s=60) is None
        assert job_id not in {d.job_id for d in state.due_jobs(s, redispatch_after_s=60)}
        s.execute(
            update(Job).where(Job.id == job_id).values(run_after=utcnow() - timedelta(seconds=1))
        )
    with session_scope(sessions) as s:
        assert job_id in {d.job_id for d in state.due_jobs(s, redispatch_after_s=60)}
        job = state.claim(s, job_id=job_id, owner="a", lease_s=60)
        assert job is not None and job.last_error_code == "fetch_timeout"


def test_attempts_are_capped(sessions: sessionmaker[Session], tenant: TenantCredentials) -> None:
    job_id = _job(sessions, tenant)
    for _ in range(3):
        with session_scope(sessions) as s:
            assert state.claim(s, job_id=job_id, owner="a", lease_s=60) is not None
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner="a", lease_s=60) is None
        assert job_id in {j.id for j in state.exhausted_jobs(s)}


def test_sweep_skips_recently_dispatched_and_finished(
    sessions: sessionmaker[Session], tenant: TenantCredentials
) -> None:
    fresh = _job(sessions, tenant)  # dispatched at creation
    done = _job(sessions, tenant, kind="analyze")
    with session_scope(sessions) as s:
        job = state.claim(s, job_id=done, owner="a", lease_s=60)
        assert job is not None
        state.succeed(s, job=job)
    with session_scope(sessions) as s:
        due = {d.job_id for d in state.due_jobs(s, redispatch_after_s=600)}
        assert fresh not in due and done not in due
    with session_scope(sessions) as s:
        # At start-up everything still queued is delivered again (memory queues were lost).
        assert fresh in {d.job_id for d in state.due_jobs(s, redispatch_after_s=600, startup=True)}


def test_dead_local_owner_is_detected(
    sessions: sessionmaker[Session], tenant: TenantCredentials
) -> None:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    dead_owner = f"{state.HOSTNAME}:{proc.pid}:deadbeef"
    assert state.owner_is_dead(dead_owner)
    assert not state.owner_is_dead(state.new_owner())
    assert not state.owner_is_dead(f"some-other-host:{proc.pid}:x")
    job_id = _job(sessions, tenant)
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner=dead_owner, lease_s=3600) is not None
    with session_scope(sessions) as s:
        assert job_id in {d.job_id for d in state.due_jobs(s, redispatch_after_s=600)}
    with session_scope(sessions) as s:
        assert state.claim(s, job_id=job_id, owner="new", lease_s=60) is not None


def test_backoff_grows_and_caps() -> None:
    assert [state.backoff_s(a, base_s=5, max_s=60) for a in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
