"""The sweeper: periodically re-delivers due, undelivered or orphaned jobs to the executor."""

from __future__ import annotations

import logging
import threading

from service.db import session_scope
from service.jobs import state
from service.jobs.runtime import Runtime
from service.jobs.tasks import fail_exhausted

log = logging.getLogger(__name__)


def sweep_once(rt: Runtime, *, startup: bool = False) -> int:
    """Deliver every job that is due now; returns how many were delivered."""
    fail_exhausted(rt)
    # Queued jobs already handed over are delivered again only when long overdue (a broker
    # that lost the message); the job's claim makes a duplicate delivery harmless anyway.
    redispatch_after = max(60.0, rt.settings.jobs.lease_s)
    with session_scope(rt.sessions) as s:
        due = state.due_jobs(s, redispatch_after_s=redispatch_after, startup=startup)
    rt.dispatch(due)
    return len(due)


class Sweeper:
    """A daemon thread running sweep_once every sweep_interval_s."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dealsight-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping (the first sweep resumes what a previous process left unfinished)."""
        self._thread.start()

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                n = sweep_once(self.rt, startup=first)
                if n:
                    log.info("sweeper delivered %d job(s)", n)
                first = False
            except Exception:
                log.exception("sweep failed; will try again")
            self._stop.wait(self.rt.settings.jobs.sweep_interval_s)

    def stop(self) -> None:
        """Stop after the current sweep."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
