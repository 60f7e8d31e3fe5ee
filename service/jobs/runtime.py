"""What task functions need in a worker process: settings, database, store, models, executor."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.db import make_engine, make_sessionmaker
from service.jobs.state import Dispatch, new_owner
from service.settings import Settings
from service.storage import LocalBlobStore

if TYPE_CHECKING:
    from nlp.diarize import Diarizer
    from nlp.pipeline import Pipeline
    from nlp.registry import NlpConfig
    from nlp.transcribe import AsrConfig, Transcriber

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Delivers job ids to task functions; the job table stays the truth."""

    name: str

    def start(self, runtime: Runtime) -> None:
        """Begin delivering (threads, sweeper...)."""
        ...

    def submit(self, dispatch: Dispatch) -> None:
        """Deliver one job id; may be called more than once for the same job."""
        ...

    def stop(self) -> None:
        """Stop delivering and wait for running work where possible."""
        ...

    def check(self) -> None:
        """Raise when jobs cannot be delivered now (readiness probe)."""
        ...


@dataclass
class Runtime:
    """Shared by the task functions of one process; models are loaded once, lazily."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: LocalBlobStore
    executor: Executor
    owner: str = field(default_factory=new_owner)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _transcriber: Transcriber | None = None
    _diarizer: Diarizer | None = None
    _diarizer_loaded: bool = False
    _pipeline: Pipeline | None = None

    def transcriber(self) -> Transcriber:
        """The process's Whisper model wrapper, built on first use (after any fork)."""
        with self._lock:
            if self._transcriber is None:
                from nlp.transcribe import Transcriber

                self._transcriber = Transcriber(asr_config(self.settings))
            return self._transcriber

    def diarizer(self) -> Diarizer | None:
        """The built-in mono diarizer, or None when disabled or its extra is not installed."""
        with self._lock:
            if not self._diarizer_loaded:
                self._diarizer_loaded = True
                if self.settings.asr.diarize:
                    from nlp.diarize import load_default_diarizer

                    self._diarizer = load_default_diarizer()
                    if self._diarizer is None:
                        log.warning("diarize extra not installed: mono calls get speaker 'unknown'")
            return self._diarizer

    def pipeline(self) -> Pipeline:
        """The analysis pipeline (segmenter, competitors, objections, trackers), built once."""
        with self._lock:
            if self._pipeline is None:
                from nlp.components.objections import ObjectionComponent
                from nlp.registry import build_pipeline

                self._pipeline = build_pipeline(nlp_config(self.settings))
                objections = self._pipeline.get("objections")
                if isinstance(objections, ObjectionComponent) and (
                    warning := objections.model.cpu_mismatch()
                ):
                    log.warning("%s", warning)
            return self._pipeline

    def dispatch(self, dispatches: list[Dispatch]) -> None:
        """Hand jobs to the executor, logging (not raising) on failure: the sweeper retries."""
        for d in dispatches:
            try:
                self.executor.submit(d)
            except Exception:  # the row is committed; the sweeper will deliver it later
                log.exception("could not dispatch job %s; the sweeper will retry", d.job_id)


def asr_config(settings: Settings) -> AsrConfig:
    """The nlp AsrConfig for these settings."""
    from nlp.transcribe import AsrConfig

    asr = settings.asr
    return AsrConfig(
        model=asr.model,
        device=asr.device,
        compute_type=asr.compute_type,
        beam_size=asr.beam_size,
        cpu_threads=asr.cpu_threads,
        num_workers=settings.jobs.worker_count(),
        vad_filter=asr.vad_filter,
        max_duration_s=asr.max_duration_s,
        language=asr.language,
    )


def nlp_config(settings: Settings) -> NlpConfig:
    """The nlp NlpConfig for these settings."""
    from nlp.encoder import EncoderConfig
    from nlp.registry import NlpConfig

    s = settings.nlp
    return NlpConfig(
        objection_model=s.objection_model_dir(),
        encoder=EncoderConfig(path=s.encoder_path, backend=s.encoder_backend, threads=s.threads),
        threads=s.threads,
    )


def build_runtime(settings: Settings, executor: Executor) -> Runtime:
    """Open the database and blob store for a process."""
    engine = make_engine(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=LocalBlobStore(settings.blob_dir),
        executor=executor,
    )
