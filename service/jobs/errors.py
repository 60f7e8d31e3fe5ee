"""How task failures are classified: permanent ones fail the job, transient ones retry."""

from __future__ import annotations


class JobError(Exception):
    """A failure with a stable code shown to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PermanentError(JobError):
    """Retrying cannot help (undecodable audio, a refused URL, a 404)."""


class TransientError(JobError):
    """Worth retrying with backoff (timeouts, 5xx, a busy database)."""
