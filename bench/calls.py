"""Posting calls to the service and following them to done, for the bench scripts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import Creds

BOUNDARY = "dealsight-bench-boundary-5c1e"


def multipart_body(
    metadata: Mapping[str, Any], file: bytes, *, filename: str, content_type: str
) -> tuple[bytes, str]:
    """A multipart/form-data body with a JSON 'metadata' part and a 'file' part."""
    head = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            f"Content-Type: application/json\r\n\r\n"
        ).encode()
        + json.dumps(metadata).encode()
        + b"\r\n"
    )
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    body = head + part + file + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".m4a": "audio/mp4",
    ".flac": "audio/flac",
}


def content_type_for(path: Path) -> str:
    """A plausible Content-Type for an audio file."""
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def call_metadata(external_id: str, *, stereo: bool, **extra: Any) -> dict[str, Any]:
    """CRM metadata like a real integration sends (names match the test dialogue)."""
    meta: dict[str, Any] = {
        "external_id": external_id,
        "deal": {
            "external_id": "D-BENCH",
            "name": "Bench renewal",
            "stage": "proposal",
            "amount": 42000,
        },
        "rep": {
            "external_id": "R-1",
            "name": "Dana Smith",
            "email": "dana@seller.example",
            "team": "East",
        },
        "participants": [{"name": "Laura", "role": "customer"}],
        "started_at": "2026-11-20T15:00:00Z",
        "direction": "outbound",
    }
    if stereo:
        meta["channels"] = {"0": "rep", "1": "customer"}
    meta.update(extra)
    return meta


def unique_id(prefix: str) -> str:
    """An external id no earlier run used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Tracked:
    """Status timeline of one conversation as seen by polling (monotonic seconds)."""

    conversation_id: str
    posted_at: float
    accepted_at: float
    first_seen: dict[str, float] = field(default_factory=dict)
    # (status, first time seen) at every change: queued -> transcribing -> queued -> ...
    timeline: list[tuple[str, float]] = field(default_factory=list)
    final: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return str(self.final["status"]) if self.final else "unknown"

    def observe(self, status: str, now: float) -> None:
        """Record a polled status."""
        self.first_seen.setdefault(status, now)
        if not self.timeline or self.timeline[-1][0] != status:
            self.timeline.append((status, now))

    def done_at(self) -> float | None:
        for s in ("done", "failed"):
            if s in self.first_seen:
                return self.first_seen[s]
        return None

    def phase_seconds(self, end: float) -> dict[str, float]:
        """Seconds spent in each status (summed over repeats), from acceptance to end.

        The first phase is counted from the 202, so it includes up to one poll interval of
        the next status; the figures are as precise as the poll interval.
        """
        out: dict[str, float] = {}
        points = list(self.timeline)
        if points:
            points[0] = (points[0][0], self.accepted_at)
        for (status, t), nxt in zip(points, points[1:] + [("", end)], strict=True):
            if status in ("done", "failed"):
                break
            out[status] = out.get(status, 0.0) + max(0.0, nxt[1] - t)
        return out


def wait_for_conversation(
    client: httpx.Client, creds: Creds, tracked: Tracked, *, poll_s: float, timeout_s: float
) -> Tracked:
    """Poll GET /v1/conversations/{id} until done/failed, noting when each status first shows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/v1/conversations/{tracked.conversation_id}", headers=creds.auth())
        now = time.monotonic()
        r.raise_for_status()
        body = r.json()
        tracked.observe(body["status"], now)
        if body["status"] in ("done", "failed"):
            tracked.final = body
            return tracked
        time.sleep(poll_s)
    raise TimeoutError(
        f"conversation {tracked.conversation_id} not finished after {timeout_s:.0f} s "
        f"(seen: {sorted(tracked.first_seen)})"
    )


# --------------------------------------------------------------------------- references and WER
