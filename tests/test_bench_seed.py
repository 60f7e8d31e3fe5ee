"""bench/seed.py at a tiny scale: rows land for the tenant and the trends API counts them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bench import seed
from models import Conversation, Deal, Insight
from service.app import create_app
from service.db import make_engine, make_sessionmaker, session_scope
from tests.conftest import make_settings

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_tiny_seed_is_deterministic_and_served(database_url: str, tmp_path: Path) -> None:
    summary = seed.seed(database_url, scale=0.001, seed_value=7, now=NOW, other_share=0.5)
    again = seed.seed(database_url, scale=0.001, seed_value=7, now=NOW, other_share=0.5)
    t, t2 = summary["tenant"], again["tenant"]
    assert (t["deals"], t["conversations"], t["insights"]) == (6, 100, 1000)
    settings = make_settings(database_url, tmp_path)
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:

            def counts(tid: str) -> tuple[int, ...]:
                ident = uuid.UUID(tid)
                return tuple(
                    int(s.execute(select(func.count()).where(m.tenant_id == ident)).scalar_one())
                    for m in (Deal, Conversation, Insight)
                )

            assert counts(t["tenant_id"]) == (6, 100, 1000)
            assert counts(summary["others"][0]["tenant_id"]) == (6, 50, 500)

            def labels(tid: str) -> list[tuple[str, int]]:
                q = (
                    select(Insight.label, func.count())
                    .where(Insight.tenant_id == uuid.UUID(tid))
                    .group_by(Insight.label)
                    .order_by(Insight.label)
                )
                return [(lab, int(n)) for lab, n in s.execute(q)]

            # Same seed, same data (tenant ids are new each time).
            assert labels(t["tenant_id"]) == labels(t2["tenant_id"])
            objections = int(
                s.execute(
                    select(func.count()).where(
                        Insight.tenant_id == uuid.UUID(t["tenant_id"]), Insight.kind == "objection"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()
    with TestClient(create_app(settings, start_workers=False)) as client:
        r = client.get(
            "/v1/trends/objections?from=2025-11-30&to=2026-12-02&interval=month",
            headers={"Authorization": f"Bearer {t['api_key']}"},
        )
        assert r.status_code == 200, r.text
        assert sum(p["count"] for p in r.json()["points"]) == objections
        assert sum(r.json()["conversations"].values()) == 100
