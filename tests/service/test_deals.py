"""deal.updated through the signed webhook, the deal board and the deal page."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.service.deal_support import (
    PRICE,
    ago,
    deal_event,
    deal_id,
    detail,
    iso,
    post_deal,
    post_email,
    setup_tenant,
)
from tests.support import auth, metadata, post_webhook


def test_new_deal_is_created_then_updated(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    r = post_deal(idle_client, tenant, deal_event(updated_at=iso(ago(10))))
    assert r.status_code == 200 and r.json()["outcome"] == "created", r.text
    r2 = post_deal(idle_client, tenant, deal_event(stage="proposal", updated_at=iso(ago(5))))
    assert r2.json() == {**r.json(), "outcome": "updated"}
    d = detail(idle_client, tenant, "D-1")
    assert d["stage"] == "proposal" and d["currency"] == "USD" and d["amount"] == "42000.00"
    assert d["owner"] == {"external_id": "R-1", "name": "Dana Smith"} and d["crm_synced"]
    assert [(s["from_stage"], s["to_stage"]) for s in d["stage_history"]] == [
        (None, "discovery"),
        ("discovery", "proposal"),
    ]
    assert d["days_in_stage"] == 5


def test_replayed_event_changes_nothing(idle_client: TestClient, tenant: TenantCredentials) -> None:
    event = deal_event(updated_at=iso(ago(3)))
    assert post_deal(idle_client, tenant, event).json()["outcome"] == "created"
    before = detail(idle_client, tenant, "D-1")
    for _ in range(3):
        assert post_deal(idle_client, tenant, event).json()["outcome"] == "unchanged"
    after = detail(idle_client, tenant, "D-1")
    assert after == before and len(after["stage_history"]) == 1


def test_older_event_never_overwrites_but_fills_stage_history(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    newest = deal_event(stage="negotiation", amount=50000, updated_at=iso(ago(2)))
    older = deal_event(stage="proposal", amount=1, name="Old name", updated_at=iso(ago(8)))
    oldest = deal_event(stage="discovery", updated_at=iso(ago(20)))
    assert post_deal(idle_client, tenant, newest).json()["outcome"] == "created"
    assert post_deal(idle_client, tenant, older).json()["outcome"] == "stale"
    assert post_deal(idle_client, tenant, oldest).json()["outcome"] == "stale"
    d = detail(idle_client, tenant, "D-1")
    assert (d["stage"], d["amount"], d["name"]) == ("negotiation", "50000.00", "Acme expansion")
    assert [(s["from_stage"], s["to_stage"]) for s in d["stage_history"]] == [
        (None, "discovery"),
        ("discovery", "proposal"),
        ("proposal", "negotiation"),
    ]
    # The deal entered its current stage at the newest event, not when the stale ones came.
    assert d["stage_entered_at"][:19] == newest["updated_at"][:19]


def test_won_deal_gets_closed_at_and_reopening_clears_it(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    post_deal(idle_client, tenant, deal_event(updated_at=iso(ago(9))))
    won_at = iso(ago(4))
    post_deal(idle_client, tenant, deal_event(status="won", stage="closed", updated_at=won_at))
    d = detail(idle_client, tenant, "D-1")
    assert d["status"] == "won" and d["closed_at"][:19] == won_at[:19] and d["risk_flags"] == []
    post_deal(idle_client, tenant, deal_event(status="open", updated_at=iso(ago(1))))
    assert detail(idle_client, tenant, "D-1")["closed_at"] is None


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"updated_at": "last tuesday"}, "updated_at"),
        ({"close_date": "2026-13-40"}, "close_date"),
        ({"status": "maybe"}, "status"),
        ({"amount": "lots"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": {"value": 1}}, "amount"),
        ({"currency": "dollars"}, "currency"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 300}, "external_id"),
        ({"name": ["a", "list"]}, "name"),
        ({"owner": "R-1"}, "owner"),
        ({"stage": "s" * 201}, "stage"),
    ],
)
def test_invalid_deal_event_is_422_naming_the_field(
    idle_client: TestClient, tenant: TenantCredentials, bad: dict[str, object], field: str
) -> None:
    r = post_deal(idle_client, tenant, deal_event(**bad))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error" and field in r.json()["detail"]
    assert idle_client.get("/v1/deals", headers=auth(tenant)).json()["items"] == []


def test_missing_updated_at_is_422(idle_client: TestClient, tenant: TenantCredentials) -> None:
    event = deal_event()
    del event["updated_at"]
    r = post_deal(idle_client, tenant, event)
    assert r.status_code == 422 and "updated_at" in r.json()["detail"]


def test_oversized_and_badly_signed_deal_events_store_nothing(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    big = json.dumps(deal_event(notes="x" * (2 * 1024 * 1024))).encode()
    assert post_deal(idle_client, tenant, big).status_code == 413
    body = json.dumps(deal_event()).encode()
    r = post_webhook(idle_client, tenant, body, secret="whsec_wrong")
    assert r.status_code == 401
    r = post_webhook(idle_client, tenant, body, timestamp=1)
    assert r.status_code == 401
    assert idle_client.get("/v1/deals", headers=auth(tenant)).json()["items"] == []


def test_deal_event_for_another_tenant_id_cannot_be_signed_with_ours(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    body = json.dumps(deal_event()).encode()
    r = post_webhook(idle_client, tenant, body, tenant_id=other_tenant.tenant_id)
    assert r.status_code == 401
    assert idle_client.get("/v1/deals", headers=auth(other_tenant)).json()["items"] == []


def test_recording_before_its_deal_makes_a_placeholder_the_crm_then_overwrites(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    meta = metadata(recording_url="https://crm.example/a.wav", event="recording.created")
    r = post_webhook(idle_client, tenant, json.dumps(meta).encode())
    assert r.status_code == 202, r.text
    [row] = idle_client.get("/v1/deals", headers=auth(tenant)).json()["items"]
    assert (row["external_id"], row["name"], row["crm_synced"]) == ("D-1", "Acme renewal", False)
    assert row["team"] == "East" and row["conversations"] == 1
    post_deal(idle_client, tenant, deal_event(name="Acme from CRM", stage="negotiation"))
    # A later recording's deal metadata never overwrites what the CRM said.
    later = metadata(recording_url="https://crm.example/b.wav", event="recording.created")
    later["deal"]["name"] = "Stale name in dialer"
    assert post_webhook(idle_client, tenant, json.dumps(later).encode()).status_code == 202
    d = detail(idle_client, tenant, "D-1")
    assert (d["name"], d["stage"], d["crm_synced"]) == ("Acme from CRM", "negotiation", True)
    assert d["id"] == row["id"] and len(d["timeline"]) == 2


def test_email_before_deal_attaches_by_external_id_and_gets_the_deal_team(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    cid = post_email(client, tenant, PRICE, deal="D-9", team=None, sent=ago(3))
    post_deal(client, tenant, deal_event("D-9", team="West", owner={"external_id": "R-2"}))
    d = detail(client, tenant, "D-9")
    assert [t["conversation_id"] for t in d["timeline"]] == [cid]
    assert d["timeline"][0]["objections"] >= 1 and d["team"] == "West"
    [price] = [o for o in d["objections"] if o["category"] == "price"]
    assert price["evidence"][0]["quote"] in PRICE and price["evidence"][0]["conversation_id"] == cid
    # The email's insights now count for the deal's team in trends.
    r = client.get("/v1/trends/objections?team=West&category=price", headers=auth(tenant))
    assert sum(p["count"] for p in r.json()["points"]) >= 1


def test_board_filters(idle_client: TestClient, tenant: TenantCredentials) -> None:
    post_deal(idle_client, tenant, deal_event("A", stage="proposal"))
    post_deal(idle_client, tenant, deal_event("B", team="West", owner={"external_id": "R-2"}))
    post_deal(idle_client, tenant, deal_event("C", status="won"))

    def ids(query: str) -> set[str]:
        r = idle_client.get(f"/v1/deals{query}", headers=auth(tenant))
        assert r.status_code == 200, r.text
        return {d["external_id"] for d in r.json()["items"]}

    assert ids("") == {"A", "B", "C"}
    assert ids("?team=West") == {"B"} and ids("?rep=R-2") == {"B"}
    assert ids("?stage=proposal") == {"A"} and ids("?status=won") == {"C"}
    assert ids("?status=open&team=East") == {"A"}
    assert ids("?risk=stalled") == set()


@pytest.mark.parametrize(
    "query",
    ["?status=maybe", "?risk=doomed", "?limit=0", "?limit=5000", "?team=" + "x" * 300, "?team="],
)
def test_bad_board_params_are_422(
    idle_client: TestClient, tenant: TenantCredentials, query: str
) -> None:
    r = idle_client.get(f"/v1/deals{query}", headers=auth(tenant))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_other_tenants_deal_is_404_and_never_listed(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    post_deal(idle_client, tenant, deal_event())
    mine = deal_id(idle_client, tenant, "D-1")
    r = idle_client.get(f"/v1/deals/{mine}", headers=auth(other_tenant))
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert idle_client.get("/v1/deals", headers=auth(other_tenant)).json()["items"] == []
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "%27%20OR%201=1"):
        assert idle_client.get(f"/v1/deals/{bad}", headers=auth(tenant)).status_code == 404
    assert idle_client.get("/v1/deals").status_code == 401
    assert idle_client.get(f"/v1/deals/{mine}").status_code == 401


def test_same_external_id_in_two_tenants_are_two_deals(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    post_deal(idle_client, tenant, deal_event(name="Ours"))
    post_deal(idle_client, other_tenant, deal_event(name="Theirs"))
    assert detail(idle_client, tenant, "D-1")["name"] == "Ours"
    assert detail(idle_client, other_tenant, "D-1")["name"] == "Theirs"
