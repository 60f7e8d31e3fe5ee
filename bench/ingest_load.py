"""Webhook ingestion under load: concurrent signed `recording.created` posts on loopback.

Phases (each a fixed number of requests, bounded in time):
  unique     closed loop: --concurrency clients post back to back, every external_id new (202)
  duplicate  closed loop: the same external_id over and over (200, nothing new stored)
  open       (with --rate R) open loop: unique posts sent at R per second on a fixed schedule;
             latency counts from the scheduled send time, so a slow server cannot hide its
             queueing by slowing the generator down (no coordinated omission)

A closed loop answers "how many requests per second at most"; its *mean* latency is
concurrency / throughput by construction (Little's law), so compare its p99 with that.
The open loop answers "what latency at this offered load". By default the service is
started with `serve --no-workers`, so the fetch jobs the webhooks create are queued but
never run, and only ingestion is measured.

The load generator is a single Python process (asyncio + httpx) on the same machine: it
competes with the server for the CPU cores, and its own CPU use is printed.

Example:
    .venv/bin/python bench/ingest_load.py --requests 2000 --concurrency 32 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Creds,
    Service,
    add_service_args,
    check_service_args,
    machine_info,
    machine_rows,
    percentile,
    print_figures,
    print_result,
    r3,
    self_cpu_seconds,
    service_from_args,
    unique_id,
    yes_no,
)
from service.webhooks.signature import HEADER, sign  # noqa: E402

TARGET_RPS = 200.0
TARGET_P99_MS = 100.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=2000,
                   help="requests in the unique phase (2000)")
    p.add_argument("--duplicates", type=int, default=None,
                   help="requests in the duplicate phase (default: same as --requests; 0 skips)")
    p.add_argument("--concurrency", type=int, default=32,
                   help="concurrent clients / connections (32)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="also run an open-loop phase at this many requests/s (0: skip)")
    p.add_argument("--warmup", type=int, default=100,
                   help="unmeasured requests first (connections, caches) (100)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout s (30)")
    p.add_argument("--max-seconds", type=float, default=300.0,
                   help="stop issuing requests in a phase after this many seconds (300)")
    p.add_argument("--recording-url", default="http://127.0.0.1:9/never.wav",
                   help="recording_url in the events (never fetched with --no-workers)")
    p.add_argument("--with-workers", action="store_true",
                   help="start the service with its job workers (fetch jobs then run during "
                        "the measurement; for comparison only)")
    p.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop in the client")
    p.add_argument("--no-verify", action="store_true",
                   help="skip counting the stored conversations after the unique phase")
    add_service_args(p, need_secret=True)
    args = p.parse_args()
    check_service_args(p, args, need_secret=True)
    if args.duplicates is None:
        args.duplicates = args.requests
    if args.requests < 1 or args.concurrency < 1:
        p.error("--requests and --concurrency must be >= 1")
    return args


@dataclass
class Phase:
    """Outcome of one phase."""

    name: str
    planned: int
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    offered_rps: float | None = None

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    def rps(self) -> float:
        return self.sent / self.wall_s if self.wall_s > 0 else float("nan")

    def errors(self, expected: set[str]) -> dict[str, int]:
        return {k: v for k, v in sorted(self.outcomes.items()) if k not in expected}

    def pct_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def max_ms(self) -> float:
        return max(self.latencies) * 1000 if self.latencies else float("nan")


def event_body(external_id: str, recording_url: str) -> bytes:
    """A realistic recording.created event (about 500 bytes)."""
    return json.dumps({
        "event": "recording.created",
        "external_id": external_id,
        "recording_url": recording_url,
        "deal": {"external_id": "D-LOAD", "name": "Load test", "stage": "proposal",
                 "amount": 42000},
        "rep": {"external_id": "R-1", "name": "Dana Smith", "email": "dana@seller.example",
                "team": "East"},
        "participants": [{"name": "Laura", "role": "customer"}],
        "started_at": "2026-11-20T15:00:00Z",
        "direction": "outbound",
        "channels": {"0": "rep", "1": "customer"},
    }).encode()


def signed(creds: Creds, body: bytes) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a correctly signed webhook post."""
    return body, {"Content-Type": "application/json", HEADER: sign(creds.webhook_secret, body)}


async def post_one(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str],
                   phase: Phase, t0: float) -> None:
    """Send one request; record latency from t0 (send or scheduled time) and the outcome."""
    try:
        r = await client.post(path, content=body, headers=headers)
        phase.outcomes[str(r.status_code)] += 1
    except httpx.HTTPError as exc:
        phase.outcomes[type(exc).__name__] += 1
    phase.latencies.append(time.perf_counter() - t0)


async def closed_loop(client: httpx.AsyncClient, path: str,
                      requests: list[tuple[bytes, dict[str, str]]], concurrency: int,
                      phase: Phase, deadline: float, bar: tqdm) -> None:
    """`concurrency` clients, each sending its next request as soon as the last one returns."""
    it = iter(requests)

    async def worker() -> None:
        for body, headers in it:  # one shared iterator: each request is sent exactly once
            if time.monotonic() > deadline:
                return
            await post_one(client, path, body, headers, phase, time.perf_counter())
            bar.update(1)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def open_loop(client: httpx.AsyncClient, path: str,
                    requests: list[tuple[bytes, dict[str, str]]], rate: float,
                    phase: Phase, deadline: float, bar: tqdm) -> None:
    """Send request i at start + i/rate regardless of answers (the pool caps connections)."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def tracked(body: bytes, headers: dict[str, str], scheduled: float) -> None:
        await post_one(client, path, body, headers, phase, scheduled)
        bar.update(1)

    for i, (body, headers) in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.monotonic() > deadline:
            break
        tasks.append(asyncio.create_task(tracked(body, headers, scheduled)))
    await asyncio.gather(*tasks)


async def run_phase(name: str, client: httpx.AsyncClient, creds: Creds,
                    requests: list[tuple[bytes, dict[str, str]]], args: argparse.Namespace,
                    svc: Service | None, *, rate: float | None = None) -> Phase:
    """Run one phase with CPU accounting for server and client."""
    path = f"/v1/webhooks/crm/{creds.tenant_id}"
    phase = Phase(name, len(requests), offered_rps=rate)
    deadline = time.monotonic() + args.max_seconds
    srv0 = svc.cpu_seconds() if svc else None
    cli0 = self_cpu_seconds()
    t0 = time.perf_counter()
    with tqdm(total=len(requests), desc=name, unit="req", mininterval=0.5) as bar:
        if rate:
            await open_loop(client, path, requests, rate, phase, deadline, bar)
        else:
            await closed_loop(client, path, requests, args.concurrency, phase, deadline, bar)
    phase.wall_s = time.perf_counter() - t0
    phase.client_cpu_s = self_cpu_seconds() - cli0
    if svc and srv0 is not None:
        phase.server_cpu_s = svc.cpu_seconds() - srv0
    return phase


async def count_stored(client: httpx.AsyncClient, creds: Creds, prefix: str) -> int:
    """Conversations whose external_id starts with prefix (pages through the list API)."""
    n, cursor = 0, None
    for _ in range(10_000):  # bounded: 500 per page
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/v1/conversations", params=params, headers=creds.auth())
        r.raise_for_status()
        page = r.json()
        n += sum(1 for c in page["items"] if c["external_id"].startswith(prefix))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return n


async def bench(args: argparse.Namespace, creds: Creds, svc: Service | None) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    run = unique_id("load")
    phases: list[Phase] = []
    stored: int | None = None
    async with httpx.AsyncClient(base_url=creds.url, limits=limits, trust_env=False,
                                 timeout=httpx.Timeout(args.timeout)) as client:
        # Bodies and signatures are made before each phase so the timed loop only sends.
        warm = [signed(creds, event_body(f"{run}-w{i}", args.recording_url))
                for i in range(args.warmup)]
        if warm:
            await run_phase("warm-up", client, creds, warm, args, svc)

        uniq = [signed(creds, event_body(f"{run}-u{i}", args.recording_url))
                for i in range(args.requests)]
        phases.append(await run_phase("unique", client, creds, uniq, args, svc))
        if not args.no_verify:
            stored = await count_stored(client, creds, f"{run}-u")

        if args.duplicates:
            dup_id = f"{run}-dup"
            first = signed(creds, event_body(dup_id, args.recording_url))
            await client.post(f"/v1/webhooks/crm/{creds.tenant_id}", content=first[0],
                              headers=first[1])  # creates it: every measured post is a repeat
            dups = [signed(creds, event_body(dup_id, args.recording_url))
                    for _ in range(args.duplicates)]
            phases.append(await run_phase("duplicate", client, creds, dups, args, svc))

        if args.rate > 0:
            opened = [signed(creds, event_body(f"{run}-o{i}", args.recording_url))
                      for i in range(args.requests)]
            phases.append(await run_phase(f"open@{args.rate:g}/s", client, creds, opened,
                                          args, svc, rate=args.rate))
    return {"phases": phases, "stored": stored}


def report(args: argparse.Namespace, info: dict[str, Any], out: dict[str, Any],
           svc: Service | None) -> None:
    phases: list[Phase] = out["phases"]
    rows: list[tuple[str, Any]] = [
        *machine_rows(info),
        ("service", ("started here, " + ("with job workers" if args.with_workers
                                          else "serve --no-workers (ingestion only)")
                     + f", SQLite, log level {args.log_level or 'INFO (default)'}")
         if svc else f"running at {args.url}"),
        ("load generator", f"1 Python process, asyncio+httpx"
                           f"{'' if args.no_uvloop else ' on uvloop'}, "
                           f"{args.concurrency} connections, same machine as the server"),
    ]
    result: dict[str, Any] = {"machine": info, "concurrency": args.concurrency, "phases": {}}
    for ph in phases:
        expected = {"202"} if ph.name != "duplicate" else {"200"}
        errors = ph.errors(expected)
        key = ph.name
        offered = f" (offered {ph.offered_rps:g}/s)" if ph.offered_rps else ""
        rows += [
            (f"[{key}] requests", f"{ph.sent} of {ph.planned} in {ph.wall_s:.2f} s{offered}"),
            (f"[{key}] throughput", f"{ph.rps():.1f} req/s"),
            (f"[{key}] latency ms", f"p50 {ph.pct_ms(50):.1f}  p90 {ph.pct_ms(90):.1f}  "
                                     f"p99 {ph.pct_ms(99):.1f}  max {ph.max_ms():.1f}"),
            (f"[{key}] status counts", dict(sorted(ph.outcomes.items()))),
            (f"[{key}] errors", errors or "none"),
            (f"[{key}] CPU", _cpu(ph)),
        ]
        result["phases"][key] = {
            "sent": ph.sent, "wall_s": r3(ph.wall_s), "rps": r3(ph.rps()),
            "offered_rps": ph.offered_rps,
            "p50_ms": r3(ph.pct_ms(50)), "p90_ms": r3(ph.pct_ms(90)),
            "p99_ms": r3(ph.pct_ms(99)), "max_ms": r3(ph.max_ms()),
            "outcomes": dict(ph.outcomes), "errors": errors,
            "server_cpu_s": r3(ph.server_cpu_s) if ph.server_cpu_s is not None else None,
            "client_cpu_s": r3(ph.client_cpu_s),
        }
    if out["stored"] is not None:
        uniq = next(p for p in phases if p.name == "unique")
        ok = uniq.outcomes.get("202", 0)
        rows.append(("[unique] stored rows", f"{out['stored']} conversations for {ok} 202s "
                     + ("(all accepted posts stored)" if out["stored"] == ok else "(MISMATCH)")))
        result["unique_stored"] = out["stored"]
    uniq = next(p for p in phases if p.name == "unique")
    rps_ok = uniq.rps() >= TARGET_RPS
    rows.append(("target >= 200 req/s (unique)", f"{yes_no(rps_ok)} ({uniq.rps():.1f})"))
    p99_phase = next((p for p in phases if p.offered_rps), uniq)
    p99_ok = p99_phase.pct_ms(99) < TARGET_P99_MS
    rows.append((f"target p99 < 100 ms ({p99_phase.name})",
                 f"{yes_no(p99_ok)} ({p99_phase.pct_ms(99):.1f} ms)"))
    if p99_phase is not uniq:
        mean_ms = sum(uniq.latencies) / max(len(uniq.latencies), 1) * 1000
        little_ms = args.concurrency / uniq.rps() * 1000
        rows.append(("p99 closed loop (unique)",
                     f"{uniq.pct_ms(99):.1f} ms at concurrency {args.concurrency}; mean "
                     f"{mean_ms:.1f} ms vs concurrency/throughput {little_ms:.1f} ms "
                     "(a p99 far above that is unfair queueing, not load)"))
    result.update(target_rps_met=rps_ok, target_p99_met=p99_ok, p99_phase=p99_phase.name)
    print_figures("webhook ingestion load", rows)
    print_result("ingest_load", result)


def _cpu(ph: Phase) -> str:
    cli = ph.client_cpu_s / ph.wall_s * 100 if ph.wall_s else float("nan")
    text = f"client {ph.client_cpu_s:.1f} s ({cli:.0f}% of a core)"
    if ph.server_cpu_s is not None:
        srv = ph.server_cpu_s / ph.wall_s * 100
        text += (f", server {ph.server_cpu_s:.1f} s ({srv:.0f}% of a core, "
                 f"{ph.server_cpu_s / max(ph.sent, 1) * 1000:.2f} ms CPU/request)")
    return text + " - both on the same cores"


def main() -> int:
    args = parse_args()
    info = machine_info()
    runner: Callable[[Awaitable[Any]], Any] = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            pass
    with service_from_args(args, workers=args.with_workers, label="dealsight-bench-ingest",
                           env_overrides={"DEALSIGHT_JOBS__EXECUTOR": "local"}
                           if not args.url else None) as (creds, svc):
        out = runner(bench(args, creds, svc))
    report(args, info, out, svc)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted", file=sys.stderr)
        sys.exit(130)
