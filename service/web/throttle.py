"""Login throttling: too many failures per email or per client address answer 429 for a while."""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_KEYS = 50_000  # bounded memory under a spray of random emails


class LoginThrottle:
    """Sliding-window failure counts in this process (each server process counts its own)."""

    def __init__(self, *, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, keys: list[str]) -> int:
        """Seconds until any of the keys may try again (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    wait = max(wait, q[0] + self.window_s - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, keys: list[str]) -> None:
        """Count one failed attempt for each key."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._failures.clear()  # crude but bounded; the window is short anyway
            for key in keys:
                q = self._failures.setdefault(key, deque())
                q.append(now)
                while len(q) > self.max_failures:
                    q.popleft()

    def succeeded(self, key: str) -> None:
        """Forget the failures of a key after a successful login."""
        with self._lock:
            self._failures.pop(key, None)
