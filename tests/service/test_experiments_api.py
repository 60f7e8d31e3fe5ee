"""Experiments API: creation and its validation, tenant isolation, stable assignment."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.support import auth


def experiment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "opener-q4",
        "name": "Opener Q4",
        "hypothesis": "Asking for the call's goal first lowers price objections.",
        "unit": "rep",
        "primary_metric": "objection_rate.price",
        "secondary_metrics": ["next_step_agreed", "rep_talk_ratio"],
        "variants": [
            {"key": "A", "name": "Current opener", "control": True, "weight": 1, "script": []},
            {
                "key": "B",
                "name": "Goal-first opener",
                "weight": 1,
                "script": ["Before we start, what would make this call a success for you?"],
            },
        ],
    }
    body.update(overrides)
    return body


def create(client: TestClient, creds: TenantCredentials, **overrides: Any) -> dict[str, Any]:
    r = client.post("/v1/experiments", json=experiment_body(**overrides), headers=auth(creds))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_read_and_list(idle_client: TestClient, tenant: TenantCredentials) -> None:
    exp = create(idle_client, tenant)
    assert exp["key"] == "opener-q4" and exp["unit"] == "rep"
    assert [v["key"] for v in exp["variants"]] == ["A", "B"]
    assert [v["control"] for v in exp["variants"]] == [True, False]
    assert exp["primary_metric"] == "objection_rate.price"
    assert "salt" not in exp  # the salt would let anyone predict assignments
    got = idle_client.get(f"/v1/experiments/{exp['id']}", headers=auth(tenant)).json()
    assert got == exp
    listed = idle_client.get("/v1/experiments", headers=auth(tenant)).json()
    assert [e["id"] for e in listed] == [exp["id"]]


def test_duplicate_key_is_a_conflict(idle_client: TestClient, tenant: TenantCredentials) -> None:
    create(idle_client, tenant)
    r = idle_client.post("/v1/experiments", json=experiment_body(), headers=auth(tenant))
    assert r.status_code == 409 and r.json()["error"] == "experiment_exists"
    assert len(idle_client.get("/v1/experiments", headers=auth(tenant)).json()) == 1


def test_other_tenants_cannot_see_or_use_an_experiment(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    for path in ("", "/assignment?unit=R-1", "/results", "/results?format=csv"):
        r = idle_client.get(f"/v1/experiments/{exp['id']}{path}", headers=auth(other_tenant))
        assert r.status_code == 404 and r.json()["error"] == "not_found", path
    assert idle_client.get("/v1/experiments", headers=auth(other_tenant)).json() == []
    # The same key is free for another tenant.
    create(idle_client, other_tenant)


@pytest.mark.parametrize("bad_id", ["nope", "00000000-0000-0000-0000-000000000000", "1' OR 1=1"])
def test_unknown_and_malformed_ids_are_404(
    idle_client: TestClient, tenant: TenantCredentials, bad_id: str
) -> None:
    r = idle_client.get(f"/v1/experiments/{bad_id}", headers=auth(tenant))
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def _variants(*specs: tuple[str, bool, float]) -> list[dict[str, Any]]:
    return [{"key": k, "control": c, "weight": w, "script": []} for k, c, w in specs]


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("no control", {"variants": _variants(("A", False, 1), ("B", False, 1))}),
    ("two controls", {"variants": _variants(("A", True, 1), ("B", True, 1))}),
    ("one variant", {"variants": _variants(("A", True, 1))}),
    (
        "eleven variants",
        {"variants": _variants(("A", True, 1), *((f"V{i}", False, 1) for i in range(10)))},
    ),
    ("same keys", {"variants": _variants(("A", True, 1), ("A", False, 1))}),
    ("zero weight", {"variants": _variants(("A", True, 1), ("B", False, 0))}),
    ("negative weight", {"variants": _variants(("A", True, 1), ("B", False, -1))}),
    ("tiny share", {"variants": _variants(("A", True, 1000), ("B", False, 1))}),
    ("unknown primary", {"primary_metric": "revenue"}),
    ("unknown secondary", {"secondary_metrics": ["objection_rate", "vibes"]}),
    ("primary repeated", {"secondary_metrics": ["objection_rate.price"]}),
    ("duplicate secondary", {"secondary_metrics": ["adherence", "adherence"]}),
    ("bad unit", {"unit": "team"}),
    ("hostile key", {"key": "../../etc/passwd"}),
    ("markup key", {"key": "<script>alert(1)</script>"}),
    ("empty name", {"name": ""}),
    ("oversized name", {"name": "x" * 201}),
    ("oversized hypothesis", {"hypothesis": "x" * 5001}),
    ("wrong type", {"variants": "A,B"}),
    ("wrong weight type", {"variants": [{"key": "A", "control": True, "weight": "heavy"}] * 2}),
    ("unknown field", {"owner": "me"}),
    ("planned too small", {"planned_units_per_variant": 1}),
    ("share out of range", {"adherence_min_share": 1.5}),
]


@pytest.mark.parametrize(("why", "overrides"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_invalid_experiments_are_refused(
    idle_client: TestClient, tenant: TenantCredentials, why: str, overrides: dict[str, Any]
) -> None:
    r = idle_client.post("/v1/experiments", json=experiment_body(**overrides), headers=auth(tenant))
    assert r.status_code == 422, (why, r.text)
    assert r.json()["error"] == "validation_error"
    assert idle_client.get("/v1/experiments", headers=auth(tenant)).json() == []


def test_bad_script_lines_are_refused(idle_client: TestClient, tenant: TenantCredentials) -> None:
    for script in (["x" * 501], ["same", "same"], [""], ["line"] * 51, "not a list"):
        body = copy.deepcopy(experiment_body())
        body["variants"][1]["script"] = script
        r = idle_client.post("/v1/experiments", json=body, headers=auth(tenant))
        assert r.status_code == 422, script


def test_malformed_json_and_missing_key(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = idle_client.post(
        "/v1/experiments",
        content=b"{not json",
        headers={**auth(tenant), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert idle_client.post("/v1/experiments", json=experiment_body()).status_code == 401
    assert idle_client.get("/v1/experiments").status_code == 401
    bad = {"Authorization": "Bearer dsk_nothing_here"}
    assert idle_client.get("/v1/experiments", headers=bad).status_code == 401


def test_assignment_is_stable_and_logs_one_exposure(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    url = f"/v1/experiments/{exp['id']}/assignment"
    first = idle_client.get(url, params={"unit": "R-7"}, headers=auth(tenant)).json()
    again = idle_client.get(url, params={"unit": "R-7"}, headers=auth(tenant)).json()
    assert first["new"] is True and again["new"] is False
    assert first["variant"] == again["variant"] and first["unit"] == "rep"
    variant = next(v for v in exp["variants"] if v["key"] == first["variant"])
    assert first["script"] == variant["script"] and first["control"] == variant["control"]
    results = idle_client.get(f"/v1/experiments/{exp['id']}/results", headers=auth(tenant)).json()
    assert sum(results["srm"]["observed"].values()) == 1


def test_assignment_follows_the_weights(idle_client: TestClient, tenant: TenantCredentials) -> None:
    variants = _variants(("A", True, 1), ("B", False, 3))
    exp = create(idle_client, tenant, variants=variants, unit="deal")
    url = f"/v1/experiments/{exp['id']}/assignment"
    counts = {"A": 0, "B": 0}
    for i in range(800):
        r = idle_client.get(url, params={"unit": f"D-{i}"}, headers=auth(tenant))
        counts[r.json()["variant"]] += 1
    # 1:3 weights: B gets 600 of 800 on average (sd about 12); 5 sd either way is a failure.
    assert 540 <= counts["B"] <= 660, counts
    srm = idle_client.get(f"/v1/experiments/{exp['id']}/results", headers=auth(tenant)).json()[
        "srm"
    ]
    assert srm["observed"] == counts and not srm["mismatch"]
    assert srm["expected"] == {"A": 200.0, "B": 600.0}


@pytest.mark.parametrize("unit", ["", "x" * 256, "bad\x00unit", "tab\tbed"])
def test_bad_units_are_refused(
    idle_client: TestClient, tenant: TenantCredentials, unit: str
) -> None:
    exp = create(idle_client, tenant)
    r = idle_client.get(
        f"/v1/experiments/{exp['id']}/assignment", params={"unit": unit}, headers=auth(tenant)
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    r = idle_client.get(f"/v1/experiments/{exp['id']}/assignment", headers=auth(tenant))
    assert r.status_code == 422


def test_experiments_do_not_share_assignments(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    one = create(idle_client, tenant, key="one")
    two = create(idle_client, tenant, key="two")
    same = 0
    for i in range(200):
        a = idle_client.get(
            f"/v1/experiments/{one['id']}/assignment",
            params={"unit": f"u{i}"},
            headers=auth(tenant),
        ).json()["variant"]
        b = idle_client.get(
            f"/v1/experiments/{two['id']}/assignment",
            params={"unit": f"u{i}"},
            headers=auth(tenant),
        ).json()["variant"]
        same += a == b
    # Independent salts: about half agree (sd 7); identical hashing would make all 200 agree.
    assert 65 <= same <= 135
