"""The task functions: fetch, transcribe, analyze. Each takes a job id and is safe to run twice."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import Competitor, Conversation, Job, TranscriptSegment
from models.base import utcnow
from nlp.metrics import call_metrics
from nlp.types import SPEAKERS, Segment, Speaker, Utterance, Word
from service.db import after_commit, session_scope
from service.jobs import state
from service.jobs.errors import JobError, PermanentError, TransientError
from service.jobs.runtime import Runtime

log = logging.getLogger(__name__)

NEXT_KIND = {"fetch": "transcribe", "transcribe": "analyze"}


class LeaseLost(Exception):
    """Another worker took the job over; our results must not be written."""


class Heartbeat:
    """Renews the job's lease in the background while a long task runs."""

    def __init__(self, rt: Runtime, job_id: uuid.UUID) -> None:
        self.rt = rt
        self.job_id = job_id
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def _run(self) -> None:
        lease_s = self.rt.settings.jobs.lease_s
        while not self._stop.wait(lease_s / 3):
            try:
                with session_scope(self.rt.sessions) as s:
                    ok = state.renew(s, job_id=self.job_id, owner=self.rt.owner, lease_s=lease_s)
                if not ok:
                    self.lost = True
                    return
            except Exception:
                log.exception("lease renewal failed for job %s", self.job_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _owned(s: Session, rt: Runtime, job_id: uuid.UUID) -> tuple[Job, Conversation]:
    """Load the job and conversation for writing results, or raise LeaseLost."""
    if not state.still_owned(s, job_id=job_id, owner=rt.owner):
        raise LeaseLost(str(job_id))
    job = s.get(Job, job_id, populate_existing=True)
    assert job is not None
    conv = s.get(Conversation, job.conversation_id, populate_existing=True)
    assert conv is not None
    return job, conv


def _finish_and_continue(s: Session, rt: Runtime, job: Job, conv: Conversation) -> None:
    """Mark the job done and queue the next step in the same transaction."""
    state.succeed(s, job=job)
    next_kind = NEXT_KIND.get(job.kind)
    if next_kind is None:
        conv.status = "done"
        conv.error_code = None
        conv.error_message = None
        return
    nxt = state.enqueue(
        s, conversation=conv, kind=next_kind, max_attempts=rt.settings.jobs.max_attempts
    )
    conv.status = "queued"
    dispatch = state.Dispatch(nxt.id, nxt.kind)
    after_commit(s, lambda: rt.dispatch([dispatch]))


def do_fetch(rt: Runtime, job_id: uuid.UUID, conv_id: uuid.UUID) -> None:
    """Download the recording_url into the blob store."""
    from service.fetcher import fetch_to_store

    with session_scope(rt.sessions) as s:
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        url, blob_key = conv.recording_url, conv.blob_key
    if blob_key and rt.store.exists(blob_key):
        blob_size: int | None = None  # fetched before a crash: nothing to download again
        media_type = None
    else:
        if not url:
            raise PermanentError("no_recording", "the conversation has neither a file nor a URL")
        blob, media_type = fetch_to_store(url, store=rt.store, settings=rt.settings.fetch)
        blob_key, blob_size = blob.key, blob.size
    with session_scope(rt.sessions) as s:
        job, conv = _owned(s, rt, job_id)
        conv.blob_key = blob_key
        if blob_size is not None:
            conv.media_bytes = blob_size
        if media_type and not conv.media_type:
            conv.media_type = media_type[:255]
        _finish_and_continue(s, rt, job, conv)


def _channel_map(meta: dict[str, Any]) -> dict[int, Speaker] | None:
    """The posted channel map ({"0": "rep", ...}), validated at ingestion."""
    channels = meta.get("channels")
    if not isinstance(channels, dict) or not channels:
        return None
    roles: dict[str, Speaker] = {s: s for s in SPEAKERS}
    return {int(k): roles.get(str(v), "unknown") for k, v in channels.items()}


def catalogue_hotwords(s: Session, tenant_id: uuid.UUID, limit: int = 60) -> str | None:
    """The tenant's competitor names as recogniser hotwords (bench/hotwords.py measured why)."""
    names: list[str] = []
    for c in s.execute(select(Competitor).where(Competitor.tenant_id == tenant_id)).scalars():
        for name in (c.name, *(c.aliases or ())):
            if name not in names and any(ch.isalpha() for ch in name):
                names.append(name)
    # Whisper's prompt window is short: keep the list to the first names.
    return " ".join(names[:limit]) or None


def _rep_name(meta: dict[str, Any]) -> str | None:
    rep = meta.get("rep")
    name = rep.get("name") if isinstance(rep, dict) else None
    return name if isinstance(name, str) else None


def _customer_names(meta: dict[str, Any]) -> list[str]:
    participants = meta.get("participants")
    if not isinstance(participants, list):
        return []
    return [
        p["name"]
        for p in participants
        if isinstance(p, dict) and isinstance(p.get("name"), str) and p.get("role") != "rep"
    ]


def do_transcribe(rt: Runtime, job_id: uuid.UUID, conv_id: uuid.UUID) -> None:
    """Decode the recording, run Whisper, store the segments."""
    from nlp.audio import AudioError, decode_audio

    with session_scope(rt.sessions) as s:
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        blob_key, meta, direction = conv.blob_key, dict(conv.meta or {}), conv.direction
        hotwords = catalogue_hotwords(s, conv.tenant_id) if rt.settings.asr.hotwords else None
    if not blob_key or not rt.store.exists(blob_key):
        raise PermanentError("no_recording", "the recording file is missing from the blob store")
    path = rt.store.local_path(blob_key)
    try:
        audio = decode_audio(path, max_duration_s=rt.settings.asr.max_duration_s)
    except AudioError as exc:
        raise PermanentError(exc.code, str(exc)) from exc
    transcriber = rt.transcriber()
    diarizer = rt.diarizer()  # used only when the audio turns out to be mono
    try:
        transcript = transcriber.transcribe(
            audio,
            channels=_channel_map(meta),
            rep_name=_rep_name(meta),
            customer_names=_customer_names(meta),
            direction="inbound" if direction == "inbound" else "outbound" if direction else None,
            diarizer=diarizer,
            hotwords=hotwords,
        )
    except AudioError as exc:
        raise PermanentError(exc.code, str(exc)) from exc
    with session_scope(rt.sessions) as s:
        job, conv = _owned(s, rt, job_id)
        # Re-running replaces the transcript instead of appending to it.
        s.execute(delete(TranscriptSegment).where(TranscriptSegment.conversation_id == conv.id))
        s.add_all(
            TranscriptSegment(
                conversation_id=conv.id,
                idx=i,
                speaker=seg.speaker,
                start_s=seg.start,
                end_s=seg.end,
                text=seg.text,
                words=[[w.word, w.start, w.end, round(w.prob, 4)] for w in seg.words],
            )
            for i, seg in enumerate(transcript.segments)
        )
        conv.language = transcript.language
        conv.duration_s = transcript.duration
        conv.asr_model = rt.settings.asr.model or "tiny.en (bundled)"
        conv.transcribed_at = utcnow()
        _finish_and_continue(s, rt, job, conv)


def load_segments(s: Session, conv_id: uuid.UUID) -> list[Segment]:
    """The stored transcript as nlp segments."""
    rows = s.execute(
        select(TranscriptSegment)
        .where(TranscriptSegment.conversation_id == conv_id)
        .order_by(TranscriptSegment.idx)
    ).scalars()
    return [
        Segment(
            speaker=r.speaker,  # type: ignore[arg-type]
            start=r.start_s,
            end=r.end_s,
            text=r.text,
            words=[Word(str(w[0]), float(w[1]), float(w[2]), float(w[3])) for w in r.words],
        )
        for r in rows
    ]


def do_analyze(rt: Runtime, job_id: uuid.UUID, conv_id: uuid.UUID) -> None:
    """Run the analysis pipeline and the talk metrics over the stored transcript."""
    from nlp.pipeline import PipelineError
    from nlp.registry import analyze, encoder_of
    from service.emails.service import email_speaker
    from service.experiments.adherence import adherence_plan, score_adherence, store_adherence
    from service.insights.service import (
        replace_insights,
        tenant_nlp_config,
        utterances_from_segments,
    )

    with session_scope(rt.sessions) as s:
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        kind = conv.kind
        segments = load_segments(s, conv_id)
        duration = conv.duration_s or 0.0
        tenant_cfg = tenant_nlp_config(s, tenant_id=conv.tenant_id)
        email = dict((conv.meta or {}).get("email") or {})
        direction = conv.direction
        # Playbook experiments: the variant whose key lines this call is scored against.
        plan = adherence_plan(s, conversation=conv)
    if kind == "email":
        utterances = [Utterance(email_speaker(direction), str(email.get("new_text", "")))]  # type: ignore[arg-type]
    else:
        utterances = utterances_from_segments(segments)
    try:
        pipeline = rt.pipeline()
        doc = analyze(pipeline, utterances, tenant=tenant_cfg, kind=kind)
    except PipelineError as exc:
        # Usually a missing model (`dealsight models build`): worth retrying after the fix.
        raise TransientError("analyzer_unavailable", str(exc)) from exc
    adherence = score_adherence(plan, doc.sentences, encoder_of(pipeline))
    metrics: dict[str, Any] = dict(doc.metrics)
    if kind == "call":
        metrics = {**call_metrics(segments, duration_s=duration).as_dict(), **metrics}
    with session_scope(rt.sessions) as s:
        job, conv = _owned(s, rt, job_id)
        replace_insights(s, conversation=conv, doc=doc, analyzer_version=pipeline.version)
        store_adherence(s, conversation=conv, plan=plan, result=adherence)
        conv.metrics = metrics
        conv.analyzed_at = utcnow()
        _finish_and_continue(s, rt, job, conv)


HANDLERS: dict[str, Callable[[Runtime, uuid.UUID, uuid.UUID], None]] = {
    "fetch": do_fetch,
    "transcribe": do_transcribe,
    "analyze": do_analyze,
}


def run_job(rt: Runtime, job_id: uuid.UUID) -> None:
    """Claim the job, run its task, and record the outcome; a no-op if someone else has it."""
    with session_scope(rt.sessions) as s:
        job = state.claim(s, job_id=job_id, owner=rt.owner, lease_s=rt.settings.jobs.lease_s)
        if job is None:
            return
        kind, conv_id, attempt, max_attempts = (
            job.kind,
            job.conversation_id,
            job.attempts,
            job.max_attempts,
        )
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        conv.status = state.RUNNING_STATUS[kind]
    log.info("job %s (%s) attempt %d for conversation %s", job_id, kind, attempt, conv_id)
    try:
        with Heartbeat(rt, job_id):
            HANDLERS[kind](rt, job_id, conv_id)
    except LeaseLost:
        log.warning("job %s was taken over by another worker; results discarded", job_id)
    except PermanentError as exc:
        _record_failure(rt, job_id, exc, permanent=True)
    except JobError as exc:
        _record_failure(rt, job_id, exc, permanent=attempt >= max_attempts)
    except OperationalError as exc:
        err = TransientError("database_error", str(exc).splitlines()[0])
        _record_failure(rt, job_id, err, permanent=attempt >= max_attempts)
    except Exception as exc:
        log.exception("job %s (%s) crashed", job_id, kind)
        err = TransientError("internal_error", f"{type(exc).__name__}: {exc}")
        _record_failure(rt, job_id, err, permanent=attempt >= max_attempts)


def _record_failure(rt: Runtime, job_id: uuid.UUID, exc: JobError, *, permanent: bool) -> None:
    with session_scope(rt.sessions) as s:
        try:
            job, conv = _owned(s, rt, job_id)
        except LeaseLost:
            return
        if permanent:
            log.warning("job %s failed: %s", job_id, exc)
            state.fail(s, job=job, conversation=conv, code=exc.code, message=exc.message)
        else:
            delay = state.backoff_s(
                job.attempts,
                base_s=rt.settings.jobs.backoff_base_s,
                max_s=rt.settings.jobs.backoff_max_s,
            )
            log.warning("job %s will retry in %.1f s: %s", job_id, delay, exc)
            state.retry_later(s, job=job, code=exc.code, message=exc.message, delay_s=delay)
            conv.status = "queued"


def fail_exhausted(rt: Runtime) -> int:
    """Fail jobs whose attempts all crashed their worker (a poison recording); returns the count."""
    with session_scope(rt.sessions) as s:
        jobs = state.exhausted_jobs(s)
        for job in jobs:
            conv = s.get(Conversation, job.conversation_id)
            assert conv is not None
            state.fail(
                s,
                job=job,
                conversation=conv,
                code=job.last_error_code or "worker_lost",
                message=job.last_error
                or f"the worker stopped during each of {job.attempts} attempts",
            )
        return len(jobs)
