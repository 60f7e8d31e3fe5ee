"""Seed a realistic tenant (reps, deals, calls, emails, insights over a year) beside others.

    .venv/bin/python bench/seed.py --database-url sqlite:////tmp/seed.db --creds-out /tmp/c.json
    .venv/bin/python bench/seed.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Full scale (--scale 1) is 50 reps, 2,000 deals, 100,000 conversations and 1,000,000 insights
for the measured tenant, plus two smaller tenants (--other-share of that each) whose rows are
interleaved in time so isolation is exercised by every query. Rows go in with SQLAlchemy core
executemany in large batches; the same --seed and --now give the same data.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.seed_vocabulary import (  # noqa: E402
    CATEGORIES,
    COMPETITORS,
    CONTEXTS,
    QUOTES,
    STAGES,
    TEAMS,
)
from models import Competitor, Conversation, Deal, DealStageChange, Insight  # noqa: E402
from service import migrate  # noqa: E402
from service.db import session_scope  # noqa: E402
from service.tenants.service import create_tenant  # noqa: E402
from service.trends import rollup  # noqa: E402

BATCH = 20_000


@dataclass(frozen=True)
class Scale:
    """How much one tenant gets."""

    reps: int
    deals: int
    conversations: int
    insights: int


def scaled(scale: float) -> Scale:
    """Full-size counts times scale (at least a handful of everything)."""
    return Scale(
        reps=max(3, round(50 * scale)),
        deals=max(6, round(2000 * scale)),
        conversations=max(30, round(100_000 * scale)),
        insights=max(200, round(1_000_000 * scale)),
    )


def rid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID from the seeded generator (deterministic)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    """A key drawn by weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of size."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class TenantSeeder:
    """Generates one tenant's deals, stage history, conversations and insights."""

    def __init__(self, tenant_id: uuid.UUID, size: Scale, rng: random.Random, now: datetime):
        self.tenant_id = tenant_id
        self.size = size
        self.rng = rng
        # Row ids from the tenant id: the same seed loaded twice into one database never clashes.
        self.ids = random.Random(tenant_id.int)
        self.now = now
        self.start = now - timedelta(days=365)
        self.reps = [
            (f"R-{i:03d}", f"Rep {i:03d}", TEAMS[i % len(TEAMS)]) for i in range(size.reps)
        ]
        self.deals: list[dict[str, Any]] = []
        self.convs: list[tuple[uuid.UUID, datetime, str, str, str, str]] = []

    def deal_rows(self) -> list[dict[str, Any]]:
        """Deals spread over the year: most closed, the recent ones open."""
        rng = self.rng
        for i in range(self.size.deals):
            rep_id, rep_name, team = rng.choice(self.reps)
            created = self.start + timedelta(seconds=rng.uniform(0, 365 * 86400))
            age = (self.now - created).days
            status = "open" if age < 60 or rng.random() < 0.25 else rng.choice(("won", "lost"))
            stage_n = rng.randint(1, len(STAGES)) if status == "open" else len(STAGES)
            stage_at = created + timedelta(days=rng.uniform(0, max(1, age)) * 0.6)
            closed = (
                stage_at + timedelta(days=rng.uniform(1, max(2, (self.now - stage_at).days)))
                if status != "open"
                else None
            )
            close_date = (closed or self.now + timedelta(days=rng.randint(-20, 90))).date()
            self.deals.append(
                {
                    "id": rid(self.ids),
                    "tenant_id": self.tenant_id,
                    "external_id": f"D-{i:05d}",
                    "name": f"Account {i:05d} {rng.choice(('renewal', 'expansion', 'new logo'))}",
                    "stage": STAGES[stage_n - 1],
                    "amount": round(rng.uniform(5_000, 250_000), 2),
                    "currency": "USD",
                    "close_date": close_date,
                    "owner_external_id": rep_id,
                    "owner_name": rep_name,
                    "team": team,
                    "status": status,
                    "crm_updated_at": closed or stage_at,
                    "stage_entered_at": stage_at,
                    "closed_at": closed,
                    "playbook_experiment": None,
                    "playbook_variant": None,
                    "created_at": created,
                    "updated_at": closed or stage_at,
                    "_stages": stage_n,
                }
            )
        return [{k: v for k, v in d.items() if not k.startswith("_")} for d in self.deals]

    def stage_rows(self) -> Iterator[dict[str, Any]]:
        """One change per stage reached, between creation and the current stage's entry."""
        for d in self.deals:
            n = d["_stages"]
            span = (d["stage_entered_at"] - d["created_at"]).total_seconds()
            for k in range(n):
                at = (
                    d["created_at"] + timedelta(seconds=span * k / max(1, n - 1))
                    if n > 1
                    else d["stage_entered_at"]
                )
                yield {
                    "tenant_id": self.tenant_id,
                    "deal_id": d["id"],
                    "from_stage": STAGES[k - 1] if k else None,
                    "to_stage": STAGES[k],
                    "changed_at": at,
                }

    def conversation_rows(self) -> Iterator[dict[str, Any]]:
        """Calls (80%) and emails over each deal's life, owner rep mostly."""
        rng = self.rng
        for _ in range(self.size.conversations):
            d = rng.choice(self.deals)
            end = d["closed_at"] or self.now
            at = d["created_at"] + timedelta(
                seconds=rng.uniform(0, max(60.0, (end - d["created_at"]).total_seconds()))
            )
            kind = "call" if rng.random() < 0.8 else "email"
            cid = rid(self.ids)
            rep, team = d["owner_external_id"], d["team"]
            self.convs.append((cid, at, d["external_id"], rep, team, kind))
            duration = rng.uniform(300, 3600) if kind == "call" else None
            metrics = None
            if kind == "call":
                assert duration is not None
                share = min(0.95, max(0.2, rng.gauss(0.5, 0.12)))
                talk = duration * 0.85
                metrics = {
                    "duration_s": duration,
                    "rep_talk_s": talk * share,
                    "customer_talk_s": talk * (1 - share),
                    "rep_talk_ratio": share,
                    "longest_rep_monologue_s": rng.uniform(20, 240),
                    "rep_questions_per_min": rng.uniform(0.2, 2.0),
                    "interactivity_per_min": rng.uniform(1, 8),
                }
            direction = rng.choice(("inbound", "outbound"))
            yield {
                "id": cid,
                "tenant_id": self.tenant_id,
                "kind": kind,
                "source": "webhook",
                "external_id": f"{kind}-{cid.hex[:16]}",
                "status": "done",
                "deal_external_id": d["external_id"],
                "rep_external_id": rep,
                "team": team,
                "started_at": at,
                "direction": direction,
                "meta": {},
                "duration_s": duration,
                "metrics": metrics,
                "created_at": at,
                "occurred_at": at,
                "updated_at": at,
                "analyzed_at": at,
            }

    def insight_rows(self) -> Iterator[dict[str, Any]]:
        """Objections (60%) and competitor mentions spread over the conversations."""
        rng = self.rng
        for _ in range(self.size.insights):
            cid, at, deal, rep, team, kind = rng.choice(self.convs)
            objection = rng.random() < 0.6
            label = pick(rng, CATEGORIES) if objection else pick(rng, COMPETITORS)
            quote = QUOTES[label] if objection else f"We are looking at {label} as well."
            utt = rng.randint(0, 80) if kind == "call" else 0
            start_s = utt * 12.0 if kind == "call" else None
            yield {
                "tenant_id": self.tenant_id,
                "conversation_id": cid,
                "kind": "objection" if objection else "competitor",
                "label": label,
                "utterance": utt,
                "quote": quote,
                "span_begin": 0,
                "span_end": len(quote),
                "start_s": start_s,
                "end_s": start_s + 4.0 if start_s is not None else None,
                "speaker": "customer" if objection or rng.random() < 0.7 else "rep",
                "confidence": round(rng.uniform(0.5, 0.99), 3),
                "context": None if objection else pick(rng, CONTEXTS),
                "source": "seed",
                "analyzer_version": "seed-1",
                "occurred_at": at,
                "deal_external_id": deal,
                "rep_external_id": rep,
                "team": team,
                "created_at": at,
            }


def engine_for(url: str) -> Engine:
    """An engine tuned for bulk loading (SQLite: WAL, no fsync per commit)."""
    sa_url = make_url(url)
    if sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    engine = create_engine(sa_url)
    if sa_url.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def load(engine: Engine, table: Any, rows: Iterator[dict[str, Any]], total: int, what: str) -> None:
    """executemany in batches, one transaction per batch, with a progress bar."""
    with tqdm(total=total, desc=what, unit="row", unit_scale=True, file=sys.stderr) as bar:
        for chunk in batches(rows):
            with engine.begin() as conn:
                conn.execute(insert(table), chunk)
            bar.update(len(chunk))


def seed_tenant(
    engine: Engine, *, name: str, size: Scale, rng: random.Random, now: datetime
) -> dict[str, Any]:
    """Create a tenant through the service layer and load its rows; returns its credentials."""
    with session_scope(sessionmaker(engine)) as session:
        creds = create_tenant(session, name=name)
        tid = uuid.UUID(creds.tenant_id)
        session.add_all(
            Competitor(tenant_id=tid, name=n, aliases=[], ambiguous=None) for n in COMPETITORS
        )
    s = TenantSeeder(tid, size, rng, now)
    load(engine, Deal.__table__, iter(s.deal_rows()), size.deals, f"{name}: deals")
    stages = sum(d["_stages"] for d in s.deals)
    load(engine, DealStageChange.__table__, s.stage_rows(), stages, f"{name}: stage changes")
    load(
        engine,
        Conversation.__table__,
        s.conversation_rows(),
        size.conversations,
        f"{name}: conversations",
    )
    load(engine, Insight.__table__, s.insight_rows(), size.insights, f"{name}: insights")
    # Bulk rows bypass the analysis path, so the daily trend counts are rebuilt in one go.
    t0 = time.monotonic()
    with session_scope(sessionmaker(engine)) as session:
        rollup.rebuild(session, tenant_id=tid)
    print(f"{name}: trend_day rebuilt in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return {
        "tenant_id": creds.tenant_id,
        "name": name,
        "api_key": creds.api_key,
        "webhook_secret": creds.webhook_secret,
        "reps": size.reps,
        "deals": size.deals,
        "conversations": size.conversations,
        "insights": size.insights,
    }


def seed(
    url: str, *, scale: float, seed_value: int, now: datetime, other_share: float
) -> dict[str, Any]:
    """Migrate the database and seed the measured tenant plus two others; returns a summary."""
    migrate.upgrade(url)
    engine = engine_for(url)
    rng = random.Random(seed_value)
    t0 = time.monotonic()
    try:
        others = [
            seed_tenant(
                engine, name=f"Neighbour {k}", size=scaled(scale * other_share), rng=rng, now=now
            )
            for k in (1, 2)
        ]
        main = seed_tenant(engine, name="Bench Co", size=scaled(scale), rng=rng, now=now)
        if engine.dialect.name == "postgresql":
            # What autovacuum does soon after a bulk insert (the servers here run with it off):
            # statistics for the planner, and the visibility map that index-only scans need.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()
    return {
        "database": make_url(url).get_backend_name(),
        "scale": scale,
        "seed": seed_value,
        "now": now.isoformat(),
        "seconds": round(time.monotonic() - t0, 1),
        "tenant": main,
        "others": [{k: o[k] for k in ("tenant_id", "name", "insights")} for o in others],
    }


def default_now() -> datetime:
    """Today at 00:00 UTC: the seeded year ends here."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, seed, print the summary and optionally save the tenant's credentials."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database-url", required=True, help="SQLite or PostgreSQL URL (migrated here)")
    p.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 insights (default)")
    p.add_argument("--seed", type=int, default=20261201, help="random seed (deterministic data)")
    p.add_argument("--now", default=None, help="the data's 'now' (ISO; default today 00:00 UTC)")
    p.add_argument("--other-share", type=float, default=0.1, help="size of each other tenant")
    p.add_argument("--creds-out", type=Path, help="write the measured tenant's credentials here")
    args = p.parse_args(argv)
    if not 0 < args.scale <= 5:
        p.error("--scale must be in (0, 5]")
    now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else default_now()
    summary = seed(
        args.database_url,
        scale=args.scale,
        seed_value=args.seed,
        now=now,
        other_share=args.other_share,
    )
    summary["url"] = args.database_url
    if args.creds_out:
        args.creds_out.write_text(json.dumps(summary, indent=2) + "\n")
        args.creds_out.chmod(0o600)
    secret = ("api_key", "webhook_secret")
    shown = {**summary, "tenant": {k: v for k, v in summary["tenant"].items() if k not in secret}}
    print("RESULT " + json.dumps({"bench": "seed", **shown}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
