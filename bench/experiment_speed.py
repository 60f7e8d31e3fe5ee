"""Experiment results over 100,000 conversations: SQL aggregation + statistics, timed.

    .venv/bin/python bench/experiment_speed.py [--calls 100000] [--repeats 5]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Seeds a throw-away database (a temporary SQLite file, or a fresh database on the given
PostgreSQL server) with analysed calls of one experiment, then times `experiment_results`
(what GET /v1/experiments/{id}/results runs) randomised by conversation, by rep and by deal.
The baseline in the same run fetches every call's row into Python, the approach the SQL
aggregation avoids.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.figures import machine_info  # noqa: E402
from models import Conversation, ExperimentExposure  # noqa: E402
from models.base import utcnow  # noqa: E402
from service import migrate  # noqa: E402
from service.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from service.experiments.results import experiment_results  # noqa: E402
from service.experiments.schemas import ExperimentIn, VariantIn  # noqa: E402
from service.experiments.service import create_experiment, get_experiment  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.tenants.service import create_tenant  # noqa: E402
from tests.experiments.seed import Call, seed_calls  # noqa: E402

UNITS = ("conversation", "rep", "deal")
SECONDARY = ["objection_rate", "next_step_agreed", "rep_talk_ratio", "question_rate"]


def synthetic_calls(n: int, start: object, seed: int = 7) -> list[Call]:
    """n calls over 60 days by 200 reps on 20,000 deals, variant B a little better."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    rep = rng.integers(0, 200, n)
    deal = rng.integers(0, 20_000, n)
    day = rng.integers(0, 60, n)
    price = rng.random(n) < np.where(arm == 1, 0.17, 0.20)
    other = rng.random(n) < 0.15
    talk = np.clip(rng.normal(np.where(arm == 1, 0.50, 0.52), 0.1), 0.05, 0.95)
    q = np.clip(rng.normal(1.2, 0.5, n), 0, None)
    said = rng.random(n) < 0.7
    calls = []
    for i in range(n):
        objections = (("price",) if price[i] else ()) + (("timing",) if other[i] else ())
        calls.append(
            Call(
                variant="B" if arm[i] else "A",
                occurred_at=start + timedelta(days=int(day[i]), minutes=i % 600),  # type: ignore[operator]
                rep=f"R-{rep[i]}",
                deal=f"D-{deal[i]}",
                objections=objections,
                next_step=bool(rng.random() < 0.4),
                talk_ratio=float(talk[i]),
                questions_per_min=float(q[i]),
                adherence=(1.0 if said[i] else 0.0) if arm[i] else None,
                said_mask=("1" if said[i] else "0") if arm[i] else "",
                experiment="speed",
            )
        )
    return calls


def fresh_database(server: str | None, tmp: Path) -> tuple[str, object]:
    """A migrated empty database URL, and a callback that drops it."""
    if not server:
        url = f"sqlite:///{tmp / 'speed.db'}"
        migrate.upgrade(url)
        return url, lambda: None
    admin_url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"dealsight_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--database-url", default="", help="a PostgreSQL server (default: SQLite)")
    args = ap.parse_args()
    info = machine_info()
    with tempfile.TemporaryDirectory() as tmpdir:
        url, drop = fresh_database(args.database_url or None, Path(tmpdir))
        try:
            figures = run(url, Path(tmpdir), args.calls, args.repeats)
        finally:
            drop()  # type: ignore[operator]
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"experiment results over {args.calls:,} conversations ({backend})")
    print(f"machine: {info['nproc']} CPU ({info['cpu']}), load {info['loadavg_1m_at_start']}")
    print(f"load at end: {os.getloadavg()[0]:.2f}")
    print(f"{'randomised by':<16}{'calls':>9}{'median s':>11}{'max s':>9}{'cpu s':>9}")
    for unit in UNITS:
        f = figures[unit]
        print(
            f"{unit:<16}{f['calls']:>9}{f['median_s']:>11.3f}{f['max_s']:>9.3f}"
            f"{f['cpu_median_s']:>9.3f}"
        )
    b = figures["baseline_fetch_rows"]
    print(f"{'baseline: fetch every row':<25}{b['median_s']:>11.3f}{b['max_s']:>9.3f}")
    print(f"seeding took {figures['seed_s']:.1f} s")
    print(
        "RESULT "
        + json.dumps(
            {"bench": "experiment_speed", "backend": backend, "calls": args.calls, **figures}
        )
    )


def run(url: str, tmp: Path, n: int, repeats: int) -> dict[str, object]:
    settings = Settings(env="test", data_dir=tmp, database_url=url)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    start = utcnow() - timedelta(days=61)
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    with session_scope(sessions) as s:
        creds = create_tenant(s, name="Bench")
    tenant_id = uuid.UUID(creds.tenant_id)
    ids = {}
    with session_scope(sessions) as s:
        for unit in UNITS:
            body = ExperimentIn(
                key="speed" if unit == "conversation" else f"speed-{unit}",
                name=f"Speed by {unit}",
                unit=unit,  # type: ignore[arg-type]
                primary_metric="objection_rate.price",
                secondary_metrics=SECONDARY,
                started_at=start,
                variants=[
                    VariantIn(key="A", control=True),
                    VariantIn(
                        key="B", script=["Before we start, what would make this call a success?"]
                    ),
                ],
            )
            ids[unit] = create_experiment(s, tenant_id=tenant_id, body=body).experiment.id
    with session_scope(sessions) as s:
        seed_calls(
            s,
            tenant_id=tenant_id,
            calls=synthetic_calls(n, start),
            experiment_id=ids["conversation"],
        )
    # The other two experiments read the same calls through exposures of their reps and deals.
    with session_scope(sessions) as s:
        for unit, prefix, count in (("rep", "R-", 200), ("deal", "D-", 20_000)):
            s.execute(
                insert(ExperimentExposure),
                [
                    {
                        "experiment_id": ids[unit],
                        "unit_id": f"{prefix}{i}",
                        "variant_key": "B" if i % 2 else "A",
                        "source": "service",
                        "exposed_at": start,
                    }
                    for i in range(count)
                ],
            )
    out["seed_s"] = round(time.perf_counter() - t0, 1)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    for unit in UNITS:
        times = []
        # This process's CPU time: on SQLite all the work, and far less affected by the other
        # processes sharing the cores than the wall clock.
        cpu: list[float] = []
        groups = 0
        for _ in range(repeats):
            with session_scope(sessions) as s:
                loaded = get_experiment(s, tenant_id=tenant_id, experiment_id=str(ids[unit]))
                t, c = time.perf_counter(), time.process_time()
                res = experiment_results(s, loaded=loaded)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        price = next(m for m in res.metrics if m.metric == "objection_rate.price")
        groups = price.comparisons[0].control.n + price.comparisons[0].treatment.n
        out[unit] = {
            "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4),
            "cpu_median_s": round(statistics.median(cpu), 4),
            "calls": groups,
            "verdict": price.comparisons[0].verdict,
        }
    times = []
    for _ in range(repeats):
        with session_scope(sessions) as s:
            t = time.perf_counter()
            rows = s.execute(
                select(Conversation.id, Conversation.playbook_variant, Conversation.metrics).where(
                    Conversation.tenant_id == tenant_id
                )
            ).all()
            times.append(time.perf_counter() - t)
    out["baseline_fetch_rows"] = {
        "median_s": round(statistics.median(times), 4),
        "max_s": round(max(times), 4),
        "rows": len(rows),
    }
    engine.dispose()
    return out


if __name__ == "__main__":
    main()
