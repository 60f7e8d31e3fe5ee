"""An executor for command-line batch work: the caller runs each job itself, in order."""

from __future__ import annotations

from service.jobs.runtime import Runtime
from service.jobs.state import Dispatch


class InlineExecutor:
    """Collects dispatched jobs instead of running them; the CLI drains them with a progress bar."""

    name = "inline"

    def __init__(self) -> None:
        self.pending: list[Dispatch] = []

    def start(self, runtime: Runtime) -> None:
        """Nothing runs in the background."""

    def submit(self, dispatch: Dispatch) -> None:
        """Remember the job; follow-up steps of a job run by the CLI land here too."""
        self.pending.append(dispatch)

    def stop(self) -> None:
        """Nothing to stop."""

    def check(self) -> None:
        """Always usable."""
