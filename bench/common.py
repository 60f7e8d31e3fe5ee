"""Shared helpers for the bench scripts: a throw-away service on loopback, figures, references."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
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
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment variable for a started service (repeatable), "
        "e.g. --env OMP_NUM_THREADS=1",
    )
    g.add_argument(
        "--log-level",
        default=None,
        help="DEALSIGHT_LOG_LEVEL for a started service (default: the service's own, INFO)",
    )


def check_service_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, need_secret: bool = False
) -> None:
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
            cmd,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
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
        yield (
            Creds(args.url.rstrip("/"), args.tenant_id, args.api_key, args.webhook_secret or ""),
            None,
        )
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


# Re-exported so the scripts keep importing everything from bench.common.
from bench.calls import (  # noqa: E402
    CONTENT_TYPES,
    Tracked,
    call_metadata,
    content_type_for,
    multipart_body,
    unique_id,
    wait_for_conversation,
)
from bench.figures import (  # noqa: E402
    Reference,
    api_words,
    load_reference,
    machine_info,
    machine_rows,
    median,
    percentile,
    print_figures,
    print_result,
    r3,
    transcript_wer,
    word_errors,
    yes_no,
)

__all__ = [
    "multipart_body",
    "CONTENT_TYPES",
    "content_type_for",
    "call_metadata",
    "unique_id",
    "Tracked",
    "wait_for_conversation",
    "Reference",
    "load_reference",
    "word_errors",
    "transcript_wer",
    "api_words",
    "percentile",
    "median",
    "print_figures",
    "print_result",
    "r3",
    "yes_no",
    "machine_info",
    "machine_rows",
]
