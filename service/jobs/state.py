"""The job state machine: create, claim with a lease, renew, finish, retry, fail, sweep."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from models import Conversation, Job
from models.base import utcnow

# Which conversation status a running job of each kind shows.
RUNNING_STATUS = {"fetch": "fetching", "transcribe": "transcribing", "analyze": "analyzing"}
HOSTNAME = socket.gethostname()


def new_owner() -> str:
    """A lease owner id naming this host and process (used to spot dead local workers)."""
    return f"{HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str | None) -> bool:
    """True when the owner ran on this host in a process that no longer exists."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOSTNAME or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A job to hand to the executor."""

    job_id: uuid.UUID
    kind: str


def enqueue(
    session: Session,
    *,
    conversation: Conversation,
    kind: str,
    max_attempts: int,
    delay_s: float = 0.0,
) -> Job:
    """Create (or reset to queued) the conversation's job of this kind; caller dispatches it."""
    now = utcnow()
    job = session.execute(
        select(Job).where(Job.conversation_id == conversation.id, Job.kind == kind)
    ).scalar_one_or_none()
    if job is None:
        job = Job(tenant_id=conversation.tenant_id, conversation_id=conversation.id, kind=kind)
        session.add(job)
    job.state = "queued"
    job.attempts = 0
    job.max_attempts = max_attempts
    job.run_after = now + timedelta(seconds=delay_s)
    job.lease_owner = None
    job.lease_expires_at = None
    job.dispatched_at = now if delay_s <= 0 else None
    job.last_error_code = None
    job.last_error = None
    job.finished_at = None
    session.flush()
    return job


def claim(session: Session, *, job_id: uuid.UUID, owner: str, lease_s: float) -> Job | None:
    """Take the job if it is due and free (or its lease ran out); None if someone else has it."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.attempts < Job.max_attempts,
            or_(
                and_(Job.state == "queued", Job.run_after <= now),
                and_(Job.state == "running", Job.lease_expires_at < now),
            ),
        )
        .values(
            state="running",
            attempts=Job.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_s),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.execute(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).scalar_one()


def renew(session: Session, *, job_id: uuid.UUID, owner: str, lease_s: float) -> bool:
    """Extend our lease; False means we lost the job to another worker."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.lease_owner == owner)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def still_owned(session: Session, *, job_id: uuid.UUID, owner: str) -> bool:
    """Whether we still hold the job's lease (checked before writing results)."""
    row = session.execute(
        select(Job.id).where(Job.id == job_id, Job.state == "running", Job.lease_owner == owner)
    ).first()
    return row is not None


def succeed(session: Session, *, job: Job) -> None:
    """Mark the job done."""
    now = utcnow()
    job.state = "succeeded"
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None
    job.last_error_code = None
    job.last_error = None


def retry_later(session: Session, *, job: Job, code: str, message: str, delay_s: float) -> None:
    """Put the job back in the queue after a transient failure."""
    job.state = "queued"
    job.run_after = utcnow() + timedelta(seconds=delay_s)
    job.dispatched_at = None
    job.lease_owner = None
    job.lease_expires_at = None
    job.last_error_code = code
    job.last_error = message[:4000]


def fail(
    session: Session, *, job: Job, conversation: Conversation, code: str, message: str
) -> None:
    """Fail the job and its conversation for good; the stored recording is kept."""
    now = utcnow()
    job.state = "failed"
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None
    job.last_error_code = code
    job.last_error = message[:4000]
    conversation.status = "failed"
    conversation.error_code = code
    conversation.error_message = message[:4000]


def backoff_s(attempt: int, *, base_s: float, max_s: float) -> float:
    """Exponential backoff: base, 2x base, 4x base ... capped."""
    return float(min(max_s, base_s * (2 ** max(0, attempt - 1))))


def due_jobs(
    session: Session, *, redispatch_after_s: float, limit: int = 500, startup: bool = False
) -> list[Dispatch]:
    """Jobs to (re)deliver now: due and undelivered, delivered long ago, or with a dead lease."""
    now = utcnow()
    stale = now - timedelta(seconds=redispatch_after_s)
    queued_cond = and_(Job.state == "queued", Job.run_after <= now, Job.attempts < Job.max_attempts)
    if not startup:
        queued_cond = and_(queued_cond, or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale))
    rows = session.execute(
        select(Job.id, Job.kind, Job.state, Job.lease_owner, Job.lease_expires_at)
        .where(or_(queued_cond, Job.state == "running"))
        .order_by(Job.run_after)
        .limit(limit)
    ).all()
    out: list[Dispatch] = []
    expired_dead: list[uuid.UUID] = []
    for job_id, kind, state, owner, lease_expires_at in rows:
        if state == "queued" or lease_expires_at is not None and lease_expires_at < now:
            out.append(Dispatch(job_id, kind))
        elif owner_is_dead(owner):
            expired_dead.append(job_id)
            out.append(Dispatch(job_id, kind))
    if expired_dead:
        # A worker on this host died holding these: end its lease so a claim can succeed now.
        session.execute(
            update(Job)
            .where(Job.id.in_(expired_dead), Job.state == "running")
            .values(lease_expires_at=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )
    ids = [d.job_id for d in out]
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    return out


def exhausted_jobs(session: Session) -> list[Job]:
    """Jobs whose every attempt ended in a crash (lease ran out) and that nobody will claim."""
    now = utcnow()
    return list(
        session.execute(
            select(Job).where(
                Job.attempts >= Job.max_attempts,
                or_(
                    Job.state == "queued",
                    and_(Job.state == "running", Job.lease_expires_at < now),
                ),
            )
        ).scalars()
    )


def lease_deadline(lease_s: float) -> datetime:
    """When a lease taken now would expire."""
    return utcnow() + timedelta(seconds=lease_s)
