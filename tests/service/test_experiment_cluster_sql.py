"""Every path to the clustered moments gives the same numbers: SQL, groups, call by call."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.db import make_engine, make_sessionmaker, session_scope
from service.experiments.calls import conversation_calls
from service.experiments.cluster_sql import cluster_daily
from service.experiments.queries import conversation_groups
from service.experiments.report import GroupArrays
from service.experiments.service import get_experiment
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import Call, seed_calls
from tests.service.test_experiment_results import START
from tests.service.test_experiments_api import create

METRICS = ["objection_rate.price", "next_step_agreed", "rep_talk_ratio", "adherence"]
# The call-by-call path unpacks objections from one bit mask: check every category and "any".
CALL_METRICS = [*METRICS, "objection_rate", "objection_rate.timing", "objection_rate.trust"]


@pytest.mark.parametrize("unit", ["rep", "deal"])
def test_sql_running_sums_match_numpy(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings, unit: str
) -> None:
    exp = create(idle_client, tenant, key="exp", unit=unit, started_at=START.isoformat())
    rng = np.random.default_rng(5)
    calls = []
    for _ in range(600):
        arm = "B" if rng.random() < 0.5 else "A"
        said = bool(rng.random() < 0.6)
        calls.append(
            Call(
                variant=arm,
                occurred_at=START + timedelta(days=int(rng.integers(0, 20)), hours=1),
                rep=f"R-{rng.integers(0, 15)}",
                deal=f"D-{rng.integers(0, 120)}",
                objections=tuple(
                    c
                    for c, p in (("price", 0.3), ("timing", 0.2), ("trust", 0.1))
                    if rng.random() < p
                ),
                next_step=bool(rng.random() < 0.4),
                # Some calls lack a talk ratio: counts differ between metrics.
                talk_ratio=None if rng.random() < 0.2 else float(rng.random()),
                adherence=(1.0 if said else 0.0) if arm == "B" else None,
                said_mask=("1" if said else "0") if arm == "B" else "",
            )
        )
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            tid = uuid.UUID(tenant.tenant_id)
            seed_calls(s, tenant_id=tid, calls=calls, experiment_id=uuid.UUID(exp["id"]))
        with session_scope(make_sessionmaker(engine)) as s:
            loaded = get_experiment(s, tenant_id=tid, experiment_id=exp["id"])
            start = loaded.experiment.started_at.date()
            daily = cluster_daily(s, loaded=loaded, metrics=METRICS, start=start)
            groups = conversation_groups(s, loaded=loaded, metrics=CALL_METRICS)
            calls = conversation_calls(s, loaded=loaded, metrics=CALL_METRICS)
    finally:
        engine.dispose()
    keys = [v.key for v in loaded.variants]
    scripted = {i for i, v in enumerate(loaded.variants) if v.script}
    arrays = GroupArrays(groups, variants=keys, scripted=scripted, start=start)
    per_call = GroupArrays(calls, variants=keys, scripted=scripted, start=start)
    assert arrays.clustered and per_call.clustered
    # Call by call there are more rows than (cluster, day) groups, with the same moments.
    assert len(calls) == 600 > len(groups)
    for metric in CALL_METRICS:
        for variant in range(len(keys)):
            for pp in (False, True):
                a = per_call.moments(metric, variant, per_protocol=pp, n_days=25)
                b = arrays.moments(metric, variant, per_protocol=pp, n_days=25)
                for part in ("n", "s", "yy", "ym", "mm", "k"):
                    assert getattr(a, part) == pytest.approx(getattr(b, part)), (
                        "calls",
                        metric,
                        keys[variant],
                        pp,
                        part,
                    )
    # The bit mask unpacks to the categories that were seeded, and "any" is their union.
    any_n = per_call.moments("objection_rate", 0, per_protocol=False, n_days=25).s[-1]
    price_n = per_call.moments("objection_rate.price", 0, per_protocol=False, n_days=25).s[-1]
    trust_n = per_call.moments("objection_rate.trust", 0, per_protocol=False, n_days=25).s[-1]
    assert any_n > price_n > trust_n > 0
    for metric in METRICS:
        for variant in range(len(keys)):
            for pp in (False, True):
                a = daily.moments(metric, variant, per_protocol=pp, n_days=25)
                b = arrays.moments(metric, variant, per_protocol=pp, n_days=25)
                for part in ("n", "s", "yy", "ym", "mm", "k"):
                    assert getattr(a, part) == pytest.approx(getattr(b, part)), (
                        metric,
                        keys[variant],
                        pp,
                        part,
                    )
    # And there is something to compare: both variants have calls and several clusters.
    b_itt = daily.moments("next_step_agreed", 1, per_protocol=False, n_days=25)
    b_pp = daily.moments("next_step_agreed", 1, per_protocol=True, n_days=25)
    assert b_itt.n[-1] > b_pp.n[-1] > 0 and b_itt.k[-1] >= 10
