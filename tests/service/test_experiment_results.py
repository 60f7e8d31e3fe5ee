"""Experiment results over real SQLite and PostgreSQL: SQL aggregation, statistics, verdicts."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from statsmodels.stats.proportion import confint_proportions_2indep

from models.base import utcnow
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import Call, seed_calls, seed_deal
from tests.service.test_experiments_api import create
from tests.support import auth


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)

    def scope() -> Any:
        return session_scope(sessions)

    yield scope
    engine.dispose()


def results(client: TestClient, creds: TenantCredentials, exp: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/v1/experiments/{exp['id']}/results", headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(r.json())


def metric(res: dict[str, Any], name: str, analysis: str = "itt") -> dict[str, Any]:
    return next(m for m in res["metrics"] if m["metric"] == name and m["analysis"] == analysis)


START = utcnow() - timedelta(days=40)


def two_arm_calls(n: int, p_a: float, p_b: float, **kw: Any) -> list[Call]:
    """n calls per arm over 10 days; an exact share of them with a price objection."""
    calls = []
    for arm, p in (("A", p_a), ("B", p_b)):
        for i in range(n):
            calls.append(
                Call(
                    variant=arm,
                    occurred_at=START + timedelta(days=i % 10, hours=1),
                    rep=f"R-{arm}-{i % 20}",
                    objections=("price",) if i < round(p * n) else (),
                    next_step=i % 3 == 0,
                    talk_ratio=0.55 if arm == "A" else 0.45,
                    **kw,
                )
            )
    return calls


def test_a_real_effect_is_reported_in_plain_words(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=two_arm_calls(600, 0.30, 0.10))
    res = results(idle_client, tenant, exp)
    price = metric(res, "objection_rate.price")
    assert price["role"] == "primary" and price["kind"] == "proportion"
    (comp,) = price["comparisons"]
    assert comp["control"]["n"] == comp["treatment"]["n"] == 600
    assert comp["control"]["mean"] == pytest.approx(0.30)
    assert comp["treatment"]["mean"] == pytest.approx(0.10)
    # The SQL counts feed the same Newcombe interval statsmodels computes from them.
    lo, hi = confint_proportions_2indep(60, 600, 180, 600, method="newcomb", compare="diff")
    assert (comp["difference"]["lower"], comp["difference"]["upper"]) == pytest.approx((lo, hi))
    seq = comp["sequential"]
    assert seq["lower"] < comp["difference"]["lower"] < comp["difference"]["upper"] < seq["upper"]
    assert comp["significant"] and comp["verdict"].startswith(
        "Variant B lowers price objection rate by 20.0 points, 95% interval"
    )
    assert len(comp["daily"]) == res["days"] == 41
    last = comp["daily"][-1]
    assert (last["lower"], last["upper"]) == pytest.approx((seq["lower"], seq["upper"]))
    # Talk ratio differs by exactly 10 points with no spread: a (secondary) real difference.
    talk = metric(res, "rep_talk_ratio")["comparisons"][0]
    assert talk["difference"]["estimate"] == pytest.approx(-0.10)
    # Next steps: identical in both arms.
    nxt = metric(res, "next_step_agreed")["comparisons"][0]
    assert not nxt["significant"] and nxt["p_holm"] is not None
    assert nxt["verdict"].startswith("No difference in calls with a next step agreed")
    assert res["srm"]["observed"] == {"A": 600, "B": 600} and not res["srm"]["mismatch"]


def test_no_data_yet_gives_honest_answers(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    res = results(idle_client, tenant, exp)
    comp = metric(res, "objection_rate.price")["comparisons"][0]
    assert comp["verdict"].startswith("Not enough data yet")
    assert not comp["significant"] and comp["difference"]["estimate"] is None
    assert res["srm"]["verdict"] == "No units assigned yet."


def test_rep_randomisation_uses_clusters(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="rep", started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=two_arm_calls(400, 0.3, 0.25))
    res = results(idle_client, tenant, exp)
    comp = metric(res, "objection_rate.price")["comparisons"][0]
    assert comp["control"]["clusters"] == comp["treatment"]["clusters"] == 20
    assert comp["control"]["n"] == 400
    assert any("calls of one rep" in n for n in res["notes"])
    assert res["srm"]["observed"] == {"A": 20, "B": 20}


def test_per_protocol_is_shown_beside_intention_to_treat(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    calls = []
    for arm in ("A", "B"):
        for i in range(100):
            calls.append(
                Call(
                    variant=arm,
                    occurred_at=START + timedelta(days=1),
                    objections=("price",) if i % 4 == 0 else (),
                    adherence=1.0 if i < 60 else 0.0,
                    said_mask="1" if i < 60 else "0",
                    evidence=[{"line": "x", "said": i < 60, "quote": "Before we dive in."}],
                )
            )
    with db() as s:
        seed_calls(
            s,
            tenant_id=uuid.UUID(tenant.tenant_id),
            calls=calls,
            experiment_id=uuid.UUID(exp["id"]),
        )
    res = results(idle_client, tenant, exp)
    itt = metric(res, "objection_rate.price")["comparisons"][0]
    pp = metric(res, "objection_rate.price", "per_protocol")["comparisons"][0]
    # B's reps said enough of B's lines in 60 calls; A has no key lines, so all its calls stay.
    assert itt["treatment"]["n"] == 100 and pp["treatment"]["n"] == 60
    assert pp["control"]["n"] == 100
    assert pp["verdict"].startswith("Per protocol (adherent calls only")
    assert pp["p_holm"] is None and not pp["significant"]
    adherence = metric(res, "adherence")
    assert adherence["role"] == "descriptive"
    usage = {a["variant"]: a for a in res["adherence"]}
    line = usage["B"]["lines"][0]
    assert usage["B"]["calls_scored"] == 100 and line["said_calls"] == 60
    assert line["share"] == pytest.approx(0.6) and line["quote"] == "Before we dive in."


def test_sample_ratio_mismatch_is_flagged(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    calls = [Call(variant="A", occurred_at=START + timedelta(days=2)) for _ in range(300)]
    calls += [Call(variant="B", occurred_at=START + timedelta(days=2)) for _ in range(200)]
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=calls)
    srm = results(idle_client, tenant, exp)["srm"]
    assert srm["observed"] == {"A": 300, "B": 200} and srm["mismatch"]
    assert srm["verdict"].startswith("Sample ratio mismatch")


def test_service_assignments_bring_calls_without_playbook_fields(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="rep", started_at=START.isoformat())
    variants = {}
    for rep in ("R-1", "R-2", "R-3", "R-4"):
        r = idle_client.get(
            f"/v1/experiments/{exp['id']}/assignment", params={"unit": rep}, headers=auth(tenant)
        )
        variants[rep] = r.json()["variant"]
    calls = [
        Call(variant=None, experiment=None, rep=rep, occurred_at=START + timedelta(days=3))
        for rep in variants
        for _ in range(5)
    ]
    # A rep outside the experiment: never counted.
    calls += [Call(variant=None, experiment=None, rep="R-9", occurred_at=START + timedelta(days=3))]
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=calls)
    comp = metric(results(idle_client, tenant, exp), "next_step_agreed")["comparisons"][0]
    in_b = sum(1 for v in variants.values() if v == "B")
    assert comp["treatment"]["n"] == 5 * in_b and comp["control"]["n"] == 5 * (4 - in_b)


def test_won_rate_and_stage_progression_come_from_deals(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(
        idle_client,
        tenant,
        key="exp",
        unit="deal",
        primary_metric="won_rate",
        secondary_metrics=["stage_advanced"],
        stage_window_days=7,
        started_at=START.isoformat(),
    )
    tid = uuid.UUID(tenant.tenant_id)
    calls = []
    with db() as s:
        for i in range(40):
            arm = "A" if i % 2 else "B"
            at = START + timedelta(days=1)
            # B's deals: all advance within the window and win; A's: half advance, a quarter win.
            moves = (
                [at + timedelta(days=2)] if arm == "B" or i % 4 == 1 else [at + timedelta(days=20)]
            )
            won = arm == "B" or i % 8 == 1
            seed_deal(
                s,
                tenant_id=tid,
                external_id=f"D-{i}",
                status="won" if won else "lost",
                closed_at=at + timedelta(days=25),
                experiment="exp",
                variant=arm,
                stage_changes=moves,
            )
            calls.append(Call(variant=arm, deal=f"D-{i}", occurred_at=at))
        seed_calls(s, tenant_id=tid, calls=calls)
    res = results(idle_client, tenant, exp)
    won = metric(res, "won_rate")["comparisons"][0]
    assert won["control"]["n"] == 20 and won["treatment"]["mean"] == pytest.approx(1.0)
    assert won["control"]["mean"] == pytest.approx(5 / 20)
    assert won["significant"]
    assert won["verdict"].startswith("Variant B raises won rate of closed deals by 75.0 points")
    stage = metric(res, "stage_advanced")["comparisons"][0]
    assert stage["treatment"]["mean"] == pytest.approx(1.0)
    assert stage["control"]["mean"] == pytest.approx(0.5)
    assert not any(
        m["analysis"] == "per_protocol" for m in res["metrics"] if m["metric"] == "won_rate"
    )


def test_results_as_csv(idle_client: TestClient, tenant: TenantCredentials, db: Any) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=two_arm_calls(50, 0.3, 0.2))
    r = idle_client.get(
        f"/v1/experiments/{exp['id']}/results", params={"format": "csv"}, headers=auth(tenant)
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    data = results(idle_client, tenant, exp)
    assert len(rows) == sum(len(m["comparisons"]) for m in data["metrics"])
    price = next(
        x for x in rows if x["metric"] == "objection_rate.price" and x["analysis"] == "itt"
    )
    assert float(price["control_mean"]) == pytest.approx(0.3)
    assert price["variant"] == "B" and price["verdict"]
    bad = idle_client.get(
        f"/v1/experiments/{exp['id']}/results", params={"format": "xlsx"}, headers=auth(tenant)
    )
    assert bad.status_code == 422


def test_calls_before_the_start_or_of_other_tenants_do_not_count(
    idle_client: TestClient,
    tenant: TenantCredentials,
    other_tenant: TenantCredentials,
    db: Any,
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    with db() as s:
        seed_calls(
            s,
            tenant_id=uuid.UUID(tenant.tenant_id),
            calls=[Call(variant="A", occurred_at=START - timedelta(days=1)) for _ in range(10)],
        )
        seed_calls(
            s,
            tenant_id=uuid.UUID(other_tenant.tenant_id),
            calls=[Call(variant="A", occurred_at=START + timedelta(days=1)) for _ in range(10)],
        )
    comp = metric(results(idle_client, tenant, exp), "next_step_agreed")["comparisons"][0]
    assert comp["control"]["n"] == 0
