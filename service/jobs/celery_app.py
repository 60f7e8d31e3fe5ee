"""The distributed executor: the same task functions on Celery workers (Redis or RabbitMQ)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery, signals

from service.jobs.runtime import Runtime, build_runtime
from service.jobs.state import Dispatch
from service.settings import Settings

log = logging.getLogger(__name__)

# fetch and analyze are light CPU/IO work; transcribe wants the GPU boxes when there are some.
QUEUE_FOR_KIND = {"fetch": "analyze", "transcribe": "transcribe", "analyze": "analyze"}
QUEUES = ("transcribe", "analyze")
TASK_NAME = "dealsight.run_job"

_worker_settings: Settings | None = None
_worker_runtime: Runtime | None = None


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured for long, crash-safe jobs."""
    app = Celery("dealsight", broker=settings.jobs.broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Ack only after the task ran, and requeue when a worker process dies mid-task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time: a long transcription must not hold queued work hostage.
        worker_prefetch_multiplier=1,
        task_default_queue="analyze",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.jobs.visibility_timeout_s},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )

    @app.task(name=TASK_NAME, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_job_task(job_id: str) -> None:
        from service.jobs.tasks import run_job

        run_job(worker_runtime(), uuid.UUID(job_id))

    return app


class CeleryExecutor:
    """Publishes job ids to the broker; the job table stays the truth."""

    name = "celery"

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        self.app = app or make_celery(settings)

    def start(self, runtime: Runtime) -> None:
        """Nothing to start: workers are separate processes (`dealsight worker`)."""

    def submit(self, dispatch: Dispatch) -> None:
        """Send the job id to the queue for its kind."""
        self.app.send_task(
            TASK_NAME, args=[str(dispatch.job_id)], queue=QUEUE_FOR_KIND[dispatch.kind]
        )

    def stop(self) -> None:
        """Close broker connections."""
        self.app.close()

    def check(self) -> None:
        """Raise unless the broker answers."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)


def configure_worker(settings: Settings) -> None:
    """Remember the settings; each worker process builds its runtime after the fork."""
    global _worker_settings
    _worker_settings = settings


def worker_runtime() -> Runtime:
    """This worker process's runtime (database, store, models), built lazily after fork."""
    global _worker_runtime
    if _worker_runtime is None:
        settings = _worker_settings or Settings()
        _worker_runtime = build_runtime(settings, CeleryExecutor(settings))
    return _worker_runtime


@signals.worker_process_init.connect  # type: ignore[untyped-decorator]
def _reset_after_fork(**_: Any) -> None:
    # Connections and native thread pools do not survive a fork: start fresh in each child.
    global _worker_runtime
    _worker_runtime = None
