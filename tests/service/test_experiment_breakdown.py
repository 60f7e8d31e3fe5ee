"""Objection rates per category: shown beside any objection metric, Holm-corrected on their own."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from statsmodels.stats.multitest import multipletests

from nlp.objections import CATEGORIES
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import Call, seed_calls
from tests.service.test_experiment_results import START, metric, results
from tests.service.test_experiments_api import create
from tests.support import auth


def category_calls(n: int) -> list[Call]:
    """n calls per arm: price 30% vs 10%, timing 10% vs 40%, trust 5% in both, nothing else."""
    shares = {
        "A": {"price": 0.3, "timing": 0.1, "trust": 0.05},
        "B": {"price": 0.1, "timing": 0.4, "trust": 0.05},
    }
    calls = []
    for arm, by_category in shares.items():
        for i in range(n):
            calls.append(
                Call(
                    variant=arm,
                    occurred_at=START + timedelta(days=i % 10, hours=1),
                    rep=f"R-{arm}-{i % 20}",
                    deal=f"D-{arm}-{i}",
                    # Each category on its own slice of the calls, so some calls have two.
                    objections=tuple(
                        c
                        for k, (c, p) in enumerate(by_category.items())
                        if (i + 37 * k) % n < round(p * n)
                    ),
                    next_step=i % 3 == 0,
                )
            )
    return calls


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings)
    yield lambda: session_scope(make_sessionmaker(engine))
    engine.dispose()


def holm(ps: list[float]) -> list[float]:
    return [float(p) for p in multipletests(ps, alpha=0.05, method="holm")[1]]


@pytest.mark.parametrize("unit", ["conversation", "deal"])
def test_breakdown_follows_an_objection_metric_with_its_own_holm_family(
    idle_client: TestClient, tenant: TenantCredentials, db: Any, unit: str
) -> None:
    exp = create(idle_client, tenant, key="exp", unit=unit, started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=category_calls(400))
    res = results(idle_client, tenant, exp)
    # The pre-registered primary (price) keeps its role; every other category is a breakdown.
    assert metric(res, "objection_rate.price")["role"] == "primary"
    breakdown = [m for m in res["metrics"] if m["role"] == "breakdown"]
    expected = [f"objection_rate.{c}" for c in CATEGORIES if c != "price"]
    assert [m["metric"] for m in breakdown if m["analysis"] == "itt"] == expected
    assert [m["metric"] for m in breakdown if m["analysis"] == "per_protocol"] == expected
    timing = metric(res, "objection_rate.timing")["comparisons"][0]
    assert timing["control"]["mean"] == pytest.approx(0.10)
    assert timing["treatment"]["mean"] == pytest.approx(0.40)
    assert timing["significant"] and timing["verdict"].startswith(
        "Variant B raises timing objection rate by 30.0 points"
    )
    trust = metric(res, "objection_rate.trust")["comparisons"][0]
    assert trust["control"]["mean"] == pytest.approx(0.05) and not trust["significant"]
    need = metric(res, "objection_rate.need")["comparisons"][0]
    assert need["control"]["mean"] == 0.0 and not need["significant"]
    assert need["verdict"] == (
        "Need objection rate: 0% in both variants so far (400 and 400 calls); "
        "nothing to compare yet."
    )
    # Holm over the breakdown alone, and the secondary family is not diluted by it.
    itt = [m["comparisons"][0] for m in breakdown if m["analysis"] == "itt"]
    assert [c["p_holm"] for c in itt] == pytest.approx(holm([c["p_always_valid"] for c in itt]))
    secondary = [
        m["comparisons"][0]
        for m in res["metrics"]
        if m["role"] == "secondary" and m["analysis"] == "itt"
    ]
    assert len(secondary) == 2
    assert [c["p_holm"] for c in secondary] == pytest.approx(
        holm([c["p_always_valid"] for c in secondary])
    )
    # Per protocol is shown, never tested.
    assert all(
        c["p_holm"] is None
        for m in breakdown
        if m["analysis"] == "per_protocol"
        for c in m["comparisons"]
    )


def test_breakdown_in_csv_and_page(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=category_calls(400))
    r = idle_client.get(f"/v1/experiments/{exp['id']}/results?format=csv", headers=auth(tenant))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    timing = [x for x in rows if x["metric"] == "objection_rate.timing"]
    assert [(x["role"], x["analysis"]) for x in timing] == [
        ("breakdown", "itt"),
        ("breakdown", "per_protocol"),
    ]
    assert float(timing[0]["variant_mean"]) == pytest.approx(0.40)
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert "Objections by category" in html and "across the 8 category comparisons" in html
    assert "Variant B raises timing objection rate by 30.0 points" in html
    assert html.count("by category</span>") == 16  # 8 categories, two analyses
    # Secondary information: the breakdown gets no interval chart of its own.
    assert html.count('class="chart"') == 3


def test_no_breakdown_without_an_objection_metric(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(
        idle_client,
        tenant,
        key="exp",
        unit="conversation",
        primary_metric="next_step_agreed",
        secondary_metrics=["rep_talk_ratio"],
        started_at=START.isoformat(),
    )
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=category_calls(50))
    res = results(idle_client, tenant, exp)
    assert not [m for m in res["metrics"] if m["metric"].startswith("objection_rate")]
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert "Objections by category" not in html
