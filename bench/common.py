"""Shared helpers for the bench scripts: a throw-away service on loopback, figures, references."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
AUDIO_DIR = REPO / "tests" / "data" / "audio"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
BOUNDARY = "dealsight-bench-boundary-5c1e"
CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(REPO) not in sys.path:  # `python bench/x.py` puts bench/, not the repo, on sys.path
    sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------- service lifecycle


@dataclass(frozen=True)
class Creds:
    """How to reach a tenant of a running service."""

    url: str
    tenant_id: str
    api_key: str
    webhook_secret: str

    def auth(self) -> dict[str, str]:
        """The bearer header for the API."""
        return {"Authorization": f"Bearer {self.api_key}"}


def add_service_args(parser: argparse.ArgumentParser, *, need_secret: bool = False) -> None:
    """--url/--api-key/--tenant-id/--webhook-secret (a running service) and start-up options."""
    g = parser.add_argument_group(
        "service",
        "By default a fresh service is started on a free loopback port in a temporary data "
        "dir and stopped at the end. Give --url (and credentials) to use a running one; "
        "only loopback addresses are accepted.",
    )
    g.add_argument("--url", help="base URL of a running service, e.g. http://127.0.0.1:8000")
    g.add_argument("--api-key", help="tenant API key (with --url)")
    g.add_argument("--tenant-id", help="tenant id (with --url)")
    g.add_argument(
        "--webhook-secret",
        help="tenant webhook secret (with --url)" + ("; required" if need_secret else ""),
    )
    g.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds to wait for /readyz (120)"
    )
    g.add_argument(
        "--keep-data", action="store_true", help="keep the temporary data dir and server log"
    )
    g.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE",
        help="extra environment variable for a started service (repeatable), "
             "e.g. --env OMP_NUM_THREADS=1",
    )
    g.add_argument(
        "--log-level",
        default=None,
        help="DEALSIGHT_LOG_LEVEL for a started service (default: the service's own, INFO)",
    )


def check_service_args(parser: argparse.ArgumentParser, args: argparse.Namespace,
                       *, need_secret: bool = False) -> None:
    """Refuse non-loopback URLs and incomplete credentials."""
    for item in args.env:
        if "=" not in item:
            parser.error(f"--env takes KEY=VALUE, got {item!r}")
    if args.url is None:
        return
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in LOOPBACK_HOSTS:
        parser.error(f"--url must be a loopback http URL (127.0.0.1, localhost, ::1): {args.url}")
    missing = [n for n in ("api_key", "tenant_id") if not getattr(args, n)]
    if need_secret and not args.webhook_secret:
        missing.append("webhook_secret")
    if missing:
        parser.error("--url needs " + ", ".join("--" + m.replace("_", "-") for m in missing))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dealsight_command() -> str:
    """The `dealsight` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "dealsight"
    if beside.exists():
        return str(beside)
    venv = REPO / ".venv" / "bin" / "dealsight"
    if venv.exists():
        return str(venv)
    found = shutil.which("dealsight")
    if not found:
        raise SystemExit("cannot find the `dealsight` command; run with .venv/bin/python")
    return found


@dataclass
class Service:
    """A `dealsight serve` child process on 127.0.0.1 with its own temporary data dir."""

    env_overrides: Mapping[str, str] = field(default_factory=dict)
    workers: bool = True
    startup_timeout: float = 120.0
    keep_data: bool = False
    log_level: str | None = None
    label: str = "dealsight-bench"
    proc: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    port: int = 0
    creds: Creds | None = None
    startup_s: float = 0.0
    readyz_note: str = ""

    @property
    def log_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "server.log"

    def env(self) -> dict[str, str]:
        """The child's environment: ours, plus a fresh data dir, local mode and the overrides."""
        assert self.data_dir is not None
        env = dict(os.environ)
        env["DEALSIGHT_DATA_DIR"] = str(self.data_dir)
        env["DEALSIGHT_ENV"] = "local"
        env.pop("DEALSIGHT_DATABASE_URL", None)  # always the SQLite file in the temp dir
        if self.log_level:
            env["DEALSIGHT_LOG_LEVEL"] = self.log_level
        env.update(self.env_overrides)
        return env

    def start(self) -> Creds:
        """Start the server and wait until it answers /readyz; returns the first tenant."""
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"{self.label}-"))
        self.port = free_port()
        cmd = [dealsight_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.workers:
            cmd.append("--no-workers")
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed by the child's exit
        t0 = time.monotonic()
        # A session of its own: a terminal Ctrl-C reaches only us, and we stop the child in order.
        self.proc = subprocess.Popen(
            cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            start_new_session=True,
        )
        log.close()
        url = f"http://127.0.0.1:{self.port}"
        self._wait_ready(url, t0)
        self.startup_s = time.monotonic() - t0
        creds_file = self.data_dir / "first-tenant.json"
        raw = json.loads(creds_file.read_text())
        self.creds = Creds(url, raw["tenant_id"], raw["api_key"], raw["webhook_secret"])
        return self.creds

    def _wait_ready(self, url: str, t0: float) -> None:
        deadline = t0 + self.startup_timeout
        last = "no answer"
        with httpx.Client(base_url=url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the service exited with {self.proc.returncode} during start-up:\n"
                        + self.log_tail()
                    )
                try:
                    r = client.get("/readyz")
                    if r.status_code == 200:
                        return
                    last = f"{r.status_code} {r.text}"
                    checks = r.json().get("checks", {}) if r.status_code == 503 else {}
                    bad = {k for k, v in checks.items() if v != "ok"}
                    # `serve --no-workers` has no worker threads, so the executor check fails
                    # by design; database and blob store must still be fine.
                    if not self.workers and bad == {"executor"}:
                        self.readyz_note = (
                            f"/readyz is 503 under --no-workers: {checks['executor']}"
                        )
                        return
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)
        raise RuntimeError(
            f"the service was not ready after {self.startup_timeout:.0f} s ({last}):\n"
            + self.log_tail()
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User+system CPU seconds used so far by the server process (all its threads)."""
        assert self.proc is not None
        return proc_cpu_seconds(self.proc.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (graceful), then SIGKILL after timeout; remove the data dir unless kept."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            except KeyboardInterrupt:  # a second Ctrl-C: do not wait for a graceful stop
                proc.kill()
                proc.wait(timeout=10)
                raise
        if self.data_dir is not None:
            if self.keep_data:
                print(f"[bench] kept data dir {self.data_dir} (server.log inside)", file=sys.stderr)
            else:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


@contextmanager
def service_from_args(
    args: argparse.Namespace,
    *,
    env_overrides: Mapping[str, str] | None = None,
    workers: bool = True,
    label: str = "dealsight-bench",
) -> Iterator[tuple[Creds, Service | None]]:
    """Yield credentials: of the --url service, or of a fresh one stopped on exit or Ctrl-C."""
    if args.url:
        if env_overrides:
            print(
                "[bench] note: --url given; settings overrides "
                f"{sorted(env_overrides)} do not apply to a service already running",
                file=sys.stderr,
            )
        yield Creds(args.url.rstrip("/"), args.tenant_id, args.api_key,
                    args.webhook_secret or ""), None
        return
    env = dict(item.split("=", 1) for item in getattr(args, "env", []))
    env.update(env_overrides or {})
    svc = Service(
        env_overrides=env,
        workers=workers,
        startup_timeout=args.startup_timeout,
        keep_data=args.keep_data,
        log_level=args.log_level,
        label=label,
    )
    # SIGTERM to the bench becomes an exception so the finally below stops the child too.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        creds = svc.start()
        print(
            f"[bench] service on {creds.url} (pid {svc.proc.pid if svc.proc else '?'}, "
            f"data {svc.data_dir}, ready in {svc.startup_s:.1f} s)",
            file=sys.stderr,
        )
        if svc.readyz_note:
            print(f"[bench] note: {svc.readyz_note}", file=sys.stderr)
        yield creds, svc
    except BaseException:
        if svc.data_dir is not None:
            print("[bench] server log tail:\n" + svc.log_tail(15), file=sys.stderr)
        raise
    finally:
        svc.stop()
        signal.signal(signal.SIGTERM, previous)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def proc_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def self_cpu_seconds() -> float:
    """CPU seconds used so far by this (load generator) process, all threads."""
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------- requests


def multipart_body(metadata: Mapping[str, Any], file: bytes, *, filename: str,
                   content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with a JSON 'metadata' part and a 'file' part."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
        f"Content-Type: application/json\r\n\r\n"
    ).encode() + json.dumps(metadata).encode() + b"\r\n"
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    body = head + part + file + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".opus": "audio/ogg",
                 ".webm": "audio/webm", ".m4a": "audio/mp4", ".flac": "audio/flac"}


def content_type_for(path: Path) -> str:
    """A plausible Content-Type for an audio file."""
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def call_metadata(external_id: str, *, stereo: bool, **extra: Any) -> dict[str, Any]:
    """CRM metadata like a real integration sends (names match the test dialogue)."""
    meta: dict[str, Any] = {
        "external_id": external_id,
        "deal": {"external_id": "D-BENCH", "name": "Bench renewal", "stage": "proposal",
                 "amount": 42000},
        "rep": {"external_id": "R-1", "name": "Dana Smith", "email": "dana@seller.example",
                "team": "East"},
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


def wait_for_conversation(client: httpx.Client, creds: Creds, tracked: Tracked, *,
                          poll_s: float, timeout_s: float) -> Tracked:
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


@dataclass(frozen=True)
class Reference:
    """Reference text of a test recording: per speaker and in turn order."""

    by_speaker: dict[str, str]
    merged: str
    duration: float


def load_reference(json_path: Path, *, loops: int = 1) -> Reference:
    """The reference turns of a test clip (repeated `loops` times for a looped file)."""
    data = json.loads(json_path.read_text())
    turns = sorted(data["turns"], key=lambda t: t["start"])
    by: dict[str, list[str]] = {}
    merged: list[str] = []
    for _ in range(loops):
        for t in turns:
            by.setdefault(t["speaker"], []).append(t["text"])
            merged.append(t["text"])
    return Reference(
        {k: " ".join(v) for k, v in by.items()}, " ".join(merged),
        float(data.get("duration", 0.0)) * loops,
    )


def word_errors(reference: str, hypothesis: str) -> tuple[float, int]:
    """(edit distance in words, reference word count) using the project's own WER."""
    from nlp.transcribe import normalize_words, word_error_rate

    n = len(normalize_words(reference))
    return word_error_rate(reference, hypothesis) * n, n


def transcript_wer(words_by_speaker: Mapping[str, Sequence[str]], all_words: Sequence[str],
                   ref: Reference, *, per_speaker: bool) -> float:
    """WER pooled over speakers (stereo: each channel against its own turns) or over the mix."""
    if per_speaker and set(ref.by_speaker) <= set(words_by_speaker):
        errs = total = 0.0
        for speaker, text in ref.by_speaker.items():
            e, n = word_errors(text, " ".join(words_by_speaker.get(speaker, ())))
            errs += e
            total += n
        return errs / max(total, 1)
    e, n = word_errors(ref.merged, " ".join(all_words))
    return e / max(n, 1)


def api_words(conv: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Words of a conversation JSON, by speaker and in time order."""
    by: dict[str, list[str]] = {}
    flat: list[tuple[float, str]] = []
    for seg in conv.get("segments") or ():
        for w in seg["words"]:
            by.setdefault(seg["speaker"], []).append(w["word"])
            flat.append((w["start"], w["word"]))
    flat.sort(key=lambda x: x[0])
    return by, [w for _, w in flat]


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation; nan for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    xs = list(values)
    return statistics.median(xs) if xs else math.nan


def print_figures(title: str, rows: Sequence[tuple[str, Any]]) -> None:
    """An aligned block of `name  value` lines on stdout."""
    width = max((len(k) for k, _ in rows), default=0)
    print(f"\n== {title} ==")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


def print_result(bench: str, data: Mapping[str, Any]) -> None:
    """The figures as one JSON line prefixed `RESULT ` (grep-able, paste-able)."""
    print("RESULT " + json.dumps({"bench": bench, **data}, default=_json_default))
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return str(value)


def r3(x: float) -> float | None:
    """Round for JSON; nan becomes None."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 3)


def yes_no(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def _package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = math.nan
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+) kB", f.read())
            if m:
                mem_gib = int(m.group(1)) / 1024**2
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "faster_whisper": _package_version("faster-whisper"),
        "ctranslate2": _package_version("ctranslate2"),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def machine_rows(info: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("machine", f"{info['nproc']} CPU ({info['cpu']}), {info['ram_gib']} GiB RAM, "
                    f"load {info['loadavg_1m_at_start']} at start"),
        ("software", f"Python {info['python']}, faster-whisper {info['faster_whisper']}, "
                     f"ctranslate2 {info['ctranslate2']}"),
    ]
