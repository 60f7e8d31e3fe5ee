"""Editing and stopping experiments: safe edits, a frozen design once data exists, the stop."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models.base import utcnow
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import Call, seed_calls
from tests.service.test_experiment_results import START, metric, results
from tests.service.test_experiments_api import create
from tests.support import auth


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings)
    yield lambda: session_scope(make_sessionmaker(engine))
    engine.dispose()


def patch(client: TestClient, creds: TenantCredentials, exp_id: str, body: Any) -> Any:
    return client.patch(f"/v1/experiments/{exp_id}", json=body, headers=auth(creds))


def stop(client: TestClient, creds: TenantCredentials, exp_id: str, body: Any = None) -> Any:
    kw: dict[str, Any] = {} if body is None else {"json": body}
    return client.post(f"/v1/experiments/{exp_id}/stop", headers=auth(creds), **kw)


def get(client: TestClient, creds: TenantCredentials, exp_id: str) -> dict[str, Any]:
    r = client.get(f"/v1/experiments/{exp_id}", headers=auth(creds))
    assert r.status_code == 200
    return dict(r.json())


def calls(n: int, at: Any, **kw: Any) -> list[Call]:
    return [
        Call(variant="AB"[i % 2], occurred_at=at, rep=f"R-{i}", external_id=None, **kw)
        for i in range(n)
    ]


def test_name_and_hypothesis_can_change_at_any_time(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    assert exp["updated_at"] is None and exp["stopped_at"] is None
    idle_client.get(f"/v1/experiments/{exp['id']}/assignment?unit=R-1", headers=auth(tenant))
    r = patch(idle_client, tenant, exp["id"], {"name": "Opener, round 2", "hypothesis": "Why."})
    assert r.status_code == 200, r.text
    got = get(idle_client, tenant, exp["id"])
    assert (got["name"], got["hypothesis"]) == ("Opener, round 2", "Why.")
    assert got["updated_at"] is not None
    assert got["primary_metric"] == exp["primary_metric"] and got["variants"] == exp["variants"]


def test_the_design_can_change_before_any_data(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    body = {
        "unit": "deal",
        "primary_metric": "next_step_agreed",
        "secondary_metrics": ["objection_rate"],
        "variants": [
            {"key": "A", "control": True},
            {"key": "C", "weight": 3, "script": ["What would success look like?"]},
        ],
    }
    r = patch(idle_client, tenant, exp["id"], body)
    assert r.status_code == 200, r.text
    got = get(idle_client, tenant, exp["id"])
    assert (got["unit"], got["primary_metric"], got["secondary_metrics"]) == (
        "deal",
        "next_step_agreed",
        ["objection_rate"],
    )
    assert [(v["key"], v["weight"]) for v in got["variants"]] == [("A", 1.0), ("C", 3.0)]
    a = idle_client.get(f"/v1/experiments/{exp['id']}/assignment?unit=D-1", headers=auth(tenant))
    assert a.json()["variant"] in ("A", "C")


@pytest.mark.parametrize(
    "body",
    [
        {"primary_metric": "rep_talk_ratio"},  # already a secondary metric
        {"secondary_metrics": ["objection_rate.price"]},  # the primary metric
        {"primary_metric": "no_such_metric"},
        {"variants": [{"key": "A", "control": True}, {"key": "B", "control": True}]},
        {"variants": [{"key": "A", "control": True}]},
        {"unit": "team"},
    ],
)
def test_an_invalid_design_is_refused_and_nothing_changes(
    idle_client: TestClient, tenant: TenantCredentials, body: dict[str, Any]
) -> None:
    exp = create(idle_client, tenant)
    r = patch(idle_client, tenant, exp["id"], body)
    assert r.status_code == 422, r.text
    assert set(r.json()) >= {"error", "detail"}
    assert get(idle_client, tenant, exp["id"]) == exp


@pytest.mark.parametrize("source", ["exposure", "crm_call"])
@pytest.mark.parametrize(
    "body",
    [
        {"primary_metric": "next_step_agreed", "secondary_metrics": []},
        {"secondary_metrics": ["next_step_agreed", "rep_talk_ratio", "question_rate"]},
        {"unit": "conversation"},
        {
            "variants": [
                {"key": "A", "control": True},
                {"key": "B", "weight": 9, "script": ["Before we start, what would success be?"]},
            ]
        },
    ],
)
def test_the_design_is_frozen_once_data_exists(
    idle_client: TestClient, tenant: TenantCredentials, db: Any, source: str, body: Any
) -> None:
    exp = create(idle_client, tenant, key="exp")
    if source == "exposure":
        idle_client.get(f"/v1/experiments/{exp['id']}/assignment?unit=R-1", headers=auth(tenant))
    else:
        with db() as s:
            seed_calls(s, tenant_id=uuid.UUID(tenant.tenant_id), calls=calls(1, START))
    before = get(idle_client, tenant, exp["id"])
    r = patch(idle_client, tenant, exp["id"], {**body, "name": "sneaky rename"})
    assert r.status_code == 409 and r.json()["error"] == "experiment_started"
    assert "cannot change once the experiment has exposures or calls" in r.json()["detail"]
    assert get(idle_client, tenant, exp["id"]) == before  # not even the name changed


def test_echoing_the_current_design_back_is_not_a_change(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    idle_client.get(f"/v1/experiments/{exp['id']}/assignment?unit=R-1", headers=auth(tenant))
    echo = {k: exp[k] for k in ("unit", "primary_metric", "secondary_metrics")}
    echo["variants"] = [
        {k: v[k] for k in ("key", "name", "control", "weight", "script")} for v in exp["variants"]
    ]
    r = patch(idle_client, tenant, exp["id"], {**echo, "name": "Renamed"})
    assert r.status_code == 200, r.text
    got = get(idle_client, tenant, exp["id"])
    assert got["name"] == "Renamed" and got["variants"] == exp["variants"]


@pytest.mark.parametrize(
    "body",
    [
        {"key": "other-key"},
        {"salt": "00"},
        {"started_at": "2020-01-01T00:00:00Z"},
        {"stopped_at": "2020-01-01T00:00:00Z"},
        {"name": None},
        {"name": ""},
        {"name": "x" * 201},
        {"hypothesis": "x" * 5001},
        {"name": 123},
        {"variants": "A,B"},
        {"secondary_metrics": "objection_rate"},
        [],
        "name",
    ],
)
def test_hostile_patches_are_422(
    idle_client: TestClient, tenant: TenantCredentials, body: Any
) -> None:
    exp = create(idle_client, tenant)
    r = patch(idle_client, tenant, exp["id"], body)
    assert r.status_code == 422, r.text
    assert set(r.json()) >= {"error", "detail"}
    assert get(idle_client, tenant, exp["id"]) == exp


def test_patch_and_stop_of_other_tenants_or_bad_ids_are_404(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    for bad in (exp["id"], str(uuid.uuid4()), "not-a-uuid", "1 OR 1=1"):
        r = patch(idle_client, other_tenant, bad, {"name": "mine now"})
        assert r.status_code == 404 and r.json()["error"] == "not_found", bad
        r = stop(idle_client, other_tenant, bad)
        assert r.status_code == 404 and r.json()["error"] == "not_found", bad
    got = get(idle_client, tenant, exp["id"])
    assert got["name"] == exp["name"] and got["stopped_at"] is None
    assert idle_client.patch(f"/v1/experiments/{exp['id']}", json={"name": "x"}).status_code == 401
    assert idle_client.post(f"/v1/experiments/{exp['id']}/stop").status_code == 401
    assert get(idle_client, tenant, exp["id"])["stopped_at"] is None


def test_stop_once_with_a_reason(idle_client: TestClient, tenant: TenantCredentials) -> None:
    exp = create(idle_client, tenant)
    assert stop(idle_client, tenant, exp["id"], {"reason": "x" * 501}).status_code == 422
    assert stop(idle_client, tenant, exp["id"], {"reason": 5}).status_code == 422
    assert stop(idle_client, tenant, exp["id"], {"why": "no"}).status_code == 422
    assert get(idle_client, tenant, exp["id"])["stopped_at"] is None
    r = stop(idle_client, tenant, exp["id"], {"reason": "  B won  "})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["stopped_at"] is not None and out["stop_reason"] == "B won"
    again = stop(idle_client, tenant, exp["id"])
    assert again.status_code == 409 and again.json()["error"] == "experiment_stopped"
    assert get(idle_client, tenant, exp["id"])["stopped_at"] == out["stopped_at"]
    # Renaming a stopped experiment is still fine.
    assert patch(idle_client, tenant, exp["id"], {"name": "Done"}).status_code == 200


def test_after_the_stop_assignment_gives_control_and_logs_nothing(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant, unit="rep")
    url = f"/v1/experiments/{exp['id']}/assignment"
    # Find a unit hashed into B before the stop.
    in_b = next(
        u
        for u in (f"R-{i}" for i in range(50))
        if idle_client.get(f"{url}?unit={u}", headers=auth(tenant)).json()["variant"] == "B"
    )
    observed = results(idle_client, tenant, exp)["srm"]["observed"]
    assert stop(idle_client, tenant, exp["id"]).status_code == 200
    for unit in (in_b, "R-new"):
        a = idle_client.get(f"{url}?unit={unit}", headers=auth(tenant)).json()
        assert (a["variant"], a["control"], a["stopped"], a["new"]) == ("A", True, True, False)
        assert a["script"] == []
    assert results(idle_client, tenant, exp)["srm"]["observed"] == observed


def test_results_stop_at_the_stop(
    idle_client: TestClient, tenant: TenantCredentials, db: Any
) -> None:
    exp = create(idle_client, tenant, key="exp", unit="conversation", started_at=START.isoformat())
    tid = uuid.UUID(tenant.tenant_id)
    with db() as s:
        seed_calls(s, tenant_id=tid, calls=calls(40, START + timedelta(days=2)))
        # Calls the CRM stamps after the stop (an hour from now) no longer count once stopped.
        seed_calls(s, tenant_id=tid, calls=calls(10, utcnow() + timedelta(hours=1)))
    running = results(idle_client, tenant, exp)
    comp = metric(running, "objection_rate.price")["comparisons"][0]
    assert comp["control"]["n"] + comp["treatment"]["n"] == 50
    assert stop(idle_client, tenant, exp["id"]).status_code == 200
    stopped = results(idle_client, tenant, exp)
    comp = metric(stopped, "objection_rate.price")["comparisons"][0]
    assert comp["control"]["n"] + comp["treatment"]["n"] == 40
    assert sum(stopped["srm"]["observed"].values()) == 40
    assert stopped["experiment"]["stopped_at"] is not None
    assert stopped["days"] == running["days"] and len(comp["daily"]) == stopped["days"]
    html = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant)).text
    assert 'id="stopped"' in html and "Results count the calls before the stop" in html
    listing = idle_client.get("/experiments", headers=auth(tenant)).text
    assert "stopped " in listing
