"""The embedded executor: worker threads inside the service process."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import uuid

from service.jobs.runtime import Runtime
from service.jobs.state import Dispatch
from service.jobs.sweeper import Sweeper
from service.jobs.tasks import run_job

log = logging.getLogger(__name__)
_STOP = uuid.UUID(int=0)


class LocalExecutor:
    """Runs jobs on N threads; the sweeper resumes unfinished jobs at start-up and retries."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        # Short jobs (fetch, analyze) go first: a finished transcript should not wait behind
        # every queued transcription before its insights appear.
        self._queue: queue.PriorityQueue[tuple[int, int, uuid.UUID]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._pending: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._rt: Runtime | None = None
        self._sweeper: Sweeper | None = None
        self._stopping = threading.Event()

    def start(self, runtime: Runtime) -> None:
        """Start the worker threads and the sweeper."""
        self._rt = runtime
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"dealsight-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        self._sweeper = Sweeper(runtime)
        self._sweeper.start()

    def submit(self, dispatch: Dispatch) -> None:
        """Queue a job id unless it is already waiting."""
        with self._lock:
            if dispatch.job_id in self._pending:
                return
            self._pending.add(dispatch.job_id)
        priority = 1 if dispatch.kind == "transcribe" else 0
        self._queue.put((priority, next(self._seq), dispatch.job_id))

    def _work(self) -> None:
        while True:
            _, _, job_id = self._queue.get()
            # On shutdown, jobs still in memory stay queued in the database for the next start.
            if job_id == _STOP or self._stopping.is_set():
                return
            with self._lock:
                self._pending.discard(job_id)
            assert self._rt is not None
            try:
                run_job(self._rt, job_id)
            except Exception:  # run_job records failures itself; this is a last resort
                log.exception("job %s raised out of run_job", job_id)

    def stop(self) -> None:
        """Stop the sweeper and let the threads finish their current job."""
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.stop()
        for _ in self._threads:
            self._queue.put((-1, next(self._seq), _STOP))
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()

    def check(self) -> None:
        """Raise unless every worker thread is alive."""
        if not self._threads or not all(t.is_alive() for t in self._threads):
            raise RuntimeError("local worker threads are not running")

    def idle(self) -> bool:
        """No job waiting in the in-memory queue (tests and benchmarks poll this)."""
        return self._queue.empty()
