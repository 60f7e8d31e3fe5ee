"""Calls naming a variant the experiment does not have: counted and shown, never silently lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import Call, seed_calls, seed_deal
from tests.service.test_experiment_results import START, metric, results
from tests.service.test_experiments_api import create
from tests.support import auth

HOSTILE = "<b>x</b>"


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings)
    yield lambda: session_scope(make_sessionmaker(engine))
    engine.dispose()


def calls(variant: str, n: int, *, experiment: str = "exp") -> list[Call]:
    return [
        Call(
            variant=variant,
            occurred_at=START + timedelta(days=i % 5, hours=1),
            objections=("price",) if i % 4 == 0 else (),
            experiment=experiment,
        )
        for i in range(n)
    ]


def test_unknown_variants_are_counted_and_shown(
    idle_client: TestClient,
    tenant: TenantCredentials,
    other_tenant: TenantCredentials,
    db: Any,
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    tid = uuid.UUID(tenant.tenant_id)
    with db() as s:
        mixed = calls("A", 40) + calls("B", 40) + calls("C", 7) + calls(HOSTILE, 2)
        seed_calls(s, tenant_id=tid, calls=mixed + calls("Z", 5, experiment="other"))
        # Another tenant's calls with the same experiment key and a strange variant.
        seed_calls(s, tenant_id=uuid.UUID(other_tenant.tenant_id), calls=calls("Q", 6))
        seed_deal(s, tenant_id=tid, external_id="D-9", experiment="exp", variant="C")
    res = results(idle_client, tenant, exp)
    unknown = res["unknown_variants"]
    assert (unknown["calls"], unknown["deals"], unknown["distinct"]) == (9, 1, 2)
    assert unknown["variants"] == [
        {"variant": "C", "calls": 7, "deals": 1},
        {"variant": HOSTILE, "calls": 2, "deals": 0},
    ]
    # Left out of the metrics, as the count says.
    comp = metric(res, "objection_rate.price")["comparisons"][0]
    assert comp["control"]["n"] == comp["treatment"]["n"] == 40
    assert any("9 calls and 1 deal name this experiment" in n for n in res["notes"])
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert 'id="unknown-variants"' in html
    assert "9 calls and 1 deal name this experiment with a variant it does not have" in html
    assert HOSTILE not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    # The other tenant's own experiment of that key sees only its own strange calls.
    theirs = create(idle_client, other_tenant, key="exp", started_at=START.isoformat())
    other = results(idle_client, other_tenant, theirs)["unknown_variants"]
    assert (other["calls"], other["deals"], other["variants"][0]["variant"]) == (6, 0, "Q")


def test_no_unknown_variants_no_warning(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    with db() as s:
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=calls("A", 10) + calls("B", 10))
    res = results(idle_client, tenant, exp)
    assert res["unknown_variants"] == {"calls": 0, "deals": 0, "distinct": 0, "variants": []}
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert 'id="unknown-variants"' not in html


def test_many_unknown_keys_are_capped_but_all_counted(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="rep", started_at=START.isoformat())
    with db() as s:
        noise = [c for k in range(25) for c in calls(f"v{k:02d}", 1 + (k == 3))]
        seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=noise)
    unknown = results(idle_client, tenant, exp)["unknown_variants"]
    assert (unknown["calls"], unknown["distinct"], len(unknown["variants"])) == (26, 25, 20)
    assert unknown["variants"][0] == {"variant": "v03", "calls": 2, "deals": 0}
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert "the 20 most frequent of 25" in html
