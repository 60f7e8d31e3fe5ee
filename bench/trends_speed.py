"""Latency of the trends, evidence, deal and review endpoints on a seeded tenant, per database.

    .venv/bin/python bench/trends_speed.py                       # SQLite, full scale
    .venv/bin/python bench/trends_speed.py --database postgres   # PostgreSQL (fresh database)
    .venv/bin/python bench/trends_speed.py --scale 0.01 --requests 5   # a quick look

Seeds with bench/seed.py (or reuses a seeded SQLite file with --reuse CREDS.json), starts
`dealsight serve --no-workers` on that database like the other bench scripts, then times each
endpoint sequentially (warm-up first) and prints p50/p95. /v1/tenant (an authenticated
request that touches one row) is the baseline for HTTP and auth overhead. The /review page is
the pages engineer's; it is skipped with a note when the service answers 404.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import seed as seeder  # noqa: E402
from bench.common import Creds, Service, machine_info, percentile, print_figures, print_result  # noqa: E402

TARGET_TRENDS_MS = 150.0
TARGET_REVIEW_MS = 500.0


class SeededService(Service):
    """A service on an already seeded database: serve writes no first-tenant.json there."""

    seeded: Creds | None = None

    def start(self) -> Creds:
        try:
            return super().start()
        except FileNotFoundError:
            assert self.seeded is not None and self.proc is not None
            self.creds = Creds(
                f"http://127.0.0.1:{self.port}",
                self.seeded.tenant_id,
                self.seeded.api_key,
                self.seeded.webhook_secret,
            )
            return self.creds


def endpoints(summary: dict[str, Any], deal_id: str | None) -> list[tuple[str, str, str]]:
    """(name, group, path) of everything timed; windows end at the seed's 'now'."""
    now = datetime.fromisoformat(summary["now"])

    def d(days: int) -> str:
        return (now - timedelta(days=days)).date().isoformat()

    end = now.date().isoformat()
    w90 = f"from={d(90)}&to={end}"
    out = [
        ("baseline /v1/tenant", "baseline", "/v1/tenant"),
        ("objections 90d weekly", "trends", f"/v1/trends/objections?{w90}&interval=week"),
        (
            "objections 365d monthly",
            "trends",
            f"/v1/trends/objections?from={d(365)}&to={end}&interval=month",
        ),
        (
            "objections 30d daily",
            "trends",
            f"/v1/trends/objections?from={d(30)}&to={end}&interval=day",
        ),
        ("objections 90d team", "trends", f"/v1/trends/objections?{w90}&team=East"),
        ("objections 90d rep", "trends", f"/v1/trends/objections?{w90}&rep=R-007"),
        ("objections 90d stage", "trends", f"/v1/trends/objections?{w90}&stage=proposal"),
        (
            "objections 90d price csv",
            "trends",
            f"/v1/trends/objections?{w90}&category=price&format=csv",
        ),
        ("competitors 90d weekly", "trends", f"/v1/trends/competitors?{w90}&interval=week"),
        (
            "competitors 365d monthly",
            "trends",
            f"/v1/trends/competitors?from={d(365)}&to={end}&interval=month",
        ),
        ("evidence price 90d", "evidence", f"/v1/evidence?category=price&{w90}&limit=50"),
        (
            "evidence HubSpot 365d",
            "evidence",
            f"/v1/evidence?competitor=HubSpot&from={d(365)}&to={end}",
        ),
        ("deals board", "deals", "/v1/deals"),
        ("deals risk=open_objections", "deals", "/v1/deals?risk=open_objections"),
        ("review JSON 14d", "review", f"/v1/review?since={d(14)}T00:00:00Z&until={end}T00:00:00Z"),
        ("review page /review", "review", "/review"),
    ]
    if deal_id:
        out.insert(-2, ("deal page JSON", "deals", f"/v1/deals/{deal_id}"))
    return out


def time_endpoint(
    client: httpx.Client, path: str, *, requests: int, budget_s: float
) -> dict[str, Any]:
    """Warm up, then time sequential requests (bounded in count and seconds)."""
    r = client.get(path)
    if r.status_code == 404 and path == "/review":
        return {"skipped": "404: /review is not served by this build (pages not landed yet)"}
    if r.status_code != 200:
        return {"skipped": f"{r.status_code}: {r.text[:160]}"}
    for _ in range(2):
        client.get(path)
    times: list[float] = []
    deadline = time.monotonic() + budget_s
    while len(times) < requests and time.monotonic() < deadline:
        t0 = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            return {"skipped": f"{r.status_code} during timing: {r.text[:160]}"}
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "bytes": len(r.content),
    }


def postgres_database(admin_url: str) -> str:
    """A fresh PostgreSQL database for this run."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"dealsight_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    """Drop the run's PostgreSQL database."""
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def first_deal(url: str, tenant_id: str) -> str | None:
    """An open deal of the tenant with many conversations (a heavy deal page)."""
    engine = seeder.engine_for(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT d.id FROM deal d JOIN conversation c ON c.tenant_id = d.tenant_id "
                    "AND c.deal_external_id = d.external_id WHERE d.tenant_id = :t "
                    "AND d.status = 'open' GROUP BY d.id ORDER BY count(*) DESC LIMIT 1"
                ),
                {"t": uuid.UUID(tenant_id).hex if url.startswith("sqlite") else tenant_id},
            ).first()
    finally:
        engine.dispose()
    return str(uuid.UUID(str(row[0]))) if row else None


def run_one(args: argparse.Namespace, database: str) -> dict[str, Any]:
    """Seed (or reuse), serve, time every endpoint; the figures of one database."""
    if args.reuse:
        summary = json.loads(args.reuse.read_text())
        url = summary["url"]
        if make_url(url).get_backend_name() != (
            "postgresql" if database == "postgres" else database
        ):
            raise SystemExit(
                f"--reuse {args.reuse} is a {make_url(url).get_backend_name()} database"
            )
    else:
        url = (
            postgres_database(args.postgres_admin_url)
            if database == "postgres"
            else (f"sqlite:///{Path(args.work_dir) / f'trends-{uuid.uuid4().hex[:8]}.db'}")
        )
        summary = seeder.seed(
            url, scale=args.scale, seed_value=args.seed, now=seeder.default_now(), other_share=0.1
        )
        summary["url"] = url
    t = summary["tenant"]
    deal_id = first_deal(url, t["tenant_id"])
    svc = SeededService(
        env_overrides={"DEALSIGHT_DATABASE_URL": url}, workers=False, label="dealsight-trends"
    )
    svc.seeded = Creds("", t["tenant_id"], t["api_key"], t["webhook_secret"])
    results: dict[str, Any] = {}
    try:
        creds = svc.start()
        with httpx.Client(
            base_url=creds.url, headers=creds.auth(), timeout=60.0, trust_env=False
        ) as client:
            for name, group, path in endpoints(summary, deal_id):
                results[name] = {
                    "group": group,
                    **time_endpoint(client, path, requests=args.requests, budget_s=args.budget_s),
                }
    finally:
        svc.stop()
        if database == "postgres" and not args.keep and not args.reuse:
            drop_postgres(url)
    return {
        "database": database,
        "seed_seconds": summary.get("seconds"),
        "tenant": {k: t[k] for k in ("deals", "conversations", "insights")},
        "endpoints": results,
    }


def report(runs: list[dict[str, Any]]) -> None:
    """The aligned block and the RESULT line."""
    info = machine_info()
    rows: list[tuple[str, Any]] = [
        (
            "machine",
            f"{info['nproc']} CPU ({info['cpu']}), load {info['loadavg_1m_at_start']} at start",
        )
    ]
    verdict: dict[str, Any] = {}
    for run in runs:
        db = run["database"]
        ten = run["tenant"]
        rows.append(
            (
                f"[{db}] data",
                f"{ten['deals']} deals, {ten['conversations']} conversations, "
                f"{ten['insights']} insights (seeded in {run['seed_seconds']} s)",
            )
        )
        worst: dict[str, float] = {}
        for name, r in run["endpoints"].items():
            if "skipped" in r:
                rows.append((f"[{db}] {name}", f"skipped ({r['skipped']})"))
                continue
            rows.append(
                (
                    f"[{db}] {name}",
                    f"p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   (n={r['n']})",
                )
            )
            worst[r["group"]] = max(worst.get(r["group"], 0.0), r["p95_ms"])
        trends_ok = worst.get("trends", 0) <= TARGET_TRENDS_MS
        review_ok = worst.get("review", 0) <= TARGET_REVIEW_MS
        rows.append(
            (
                f"[{db}] worst trends p95",
                f"{worst.get('trends', float('nan')):.1f} ms "
                f"(target <= {TARGET_TRENDS_MS:.0f}: {'met' if trends_ok else 'MISSED'})",
            )
        )
        rows.append(
            (
                f"[{db}] worst review p95",
                f"{worst.get('review', float('nan')):.1f} ms "
                f"(target <= {TARGET_REVIEW_MS:.0f}: {'met' if review_ok else 'MISSED'})",
            )
        )
        verdict[db] = {
            "worst_p95_ms": worst,
            "trends_target_met": trends_ok,
            "review_target_met": review_ok,
        }
    print_figures("trends, evidence, deals and review latency", rows)
    print_result("trends_speed", {"machine": info, "runs": runs, "verdict": verdict})


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run on the chosen databases."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--scale", type=float, default=1.0, help="seed size (1.0 = 1,000,000 insights)")
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--reuse", type=Path, help="a seed.py --creds-out file (seeded database)")
    p.add_argument("--requests", type=int, default=30, help="timed requests per endpoint (30)")
    p.add_argument("--budget-s", type=float, default=60.0, help="seconds at most per endpoint")
    p.add_argument("--work-dir", default="/tmp", help="where the SQLite file is made")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 1000:
        p.error("--requests must be 1-1000")
    dbs = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    report([run_one(args, db) for db in dbs])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
