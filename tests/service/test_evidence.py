"""GET /v1/evidence: the quotes behind a bar, paginated, as JSON or CSV; the review JSON."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.service.deal_support import (
    AUTHORITY,
    HUBSPOT,
    PRICE,
    ago,
    deal_event,
    iso,
    post_deal,
    post_email,
    setup_tenant,
)
from tests.support import auth

WINDOW = "from=2026-11-01&to=2026-12-01"


def start(day: int) -> datetime:
    return datetime(2026, 11, day, 10, 0, tzinfo=UTC)


def test_pages_walk_every_quote_newest_first(client: TestClient, tenant: TenantCredentials) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event("D-1", name="Acme expansion"))
    ids = [post_email(client, tenant, PRICE, sent=start(d)) for d in (3, 5, 7, 9, 11)]
    post_email(client, tenant, AUTHORITY, sent=start(12))
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        r = client.get(
            f"/v1/evidence?category=price&{WINDOW}&limit=2{cursor}", headers=auth(tenant)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        for item in body["items"]:
            assert item["label"] == "price" and item["quote"] in PRICE
            assert item["deal_external_id"] == "D-1" and item["deal_name"] == "Acme expansion"
            assert item["deal_id"] and item["speaker"] == "customer" and item["team"] == "East"
            assert item["conversation_url"] == f"/v1/conversations/{item['conversation_id']}"
            seen.append(item["conversation_id"])
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert pages == 3 and seen == list(reversed(ids))


def test_window_and_filters_narrow_the_quotes(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_email(client, tenant, PRICE, sent=start(3), team="East")
    post_email(client, tenant, PRICE, sent=start(20), team="West", rep="R-2")

    def count(query: str) -> int:
        r = client.get(f"/v1/evidence?category=price&{query}", headers=auth(tenant))
        assert r.status_code == 200, r.text
        return len(r.json()["items"])

    assert count(WINDOW) == 2
    assert count("from=2026-11-10&to=2026-12-01") == 1
    assert count(f"{WINDOW}&team=West") == 1 and count(f"{WINDOW}&rep=R-2") == 1
    assert count(f"{WINDOW}&team=North") == 0


def test_competitor_evidence_and_context(client: TestClient, tenant: TenantCredentials) -> None:
    setup_tenant(client, tenant)
    post_email(client, tenant, HUBSPOT, sent=start(4))
    r = client.get(f"/v1/evidence?competitor=HubSpot&{WINDOW}", headers=auth(tenant))
    [item] = r.json()["items"]
    assert item["kind"] == "competitor" and item["context"] == "evaluating"
    assert "HubSpot" in item["quote"]
    r = client.get(f"/v1/evidence?competitor=HubSpot&context=past&{WINDOW}", headers=auth(tenant))
    assert r.json()["items"] == []


def test_csv_evidence_with_next_cursor_header(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    for d in (3, 4):
        post_email(client, tenant, PRICE, sent=start(d))
    r = client.get(f"/v1/evidence?category=price&{WINDOW}&limit=1&format=csv", headers=auth(tenant))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1 and rows[0]["label"] == "price" and rows[0]["quote"] in PRICE
    assert {"conversation_id", "deal_id", "speaker", "start", "end", "occurred_at"} <= set(rows[0])
    nxt = r.headers["x-next-cursor"]
    r2 = client.get(f"/v1/evidence?category=price&{WINDOW}&cursor={nxt}", headers=auth(tenant))
    [item] = r2.json()["items"]
    assert item["conversation_id"] != rows[0]["conversation_id"]


def test_other_tenants_quotes_are_never_shown(
    client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    setup_tenant(client, other_tenant)
    post_email(client, other_tenant, PRICE, sent=start(5))
    r = client.get(f"/v1/evidence?category=price&{WINDOW}", headers=auth(tenant))
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    assert client.get(f"/v1/evidence?category=price&{WINDOW}").status_code == 401


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "invalid_filter"),
        ("category=price&competitor=HubSpot", 400, "invalid_filter"),
        ("category=price&context=past", 400, "invalid_filter"),
        ("category=price&cursor=bm90LWEtY3Vyc29y", 400, "invalid_cursor"),
        ("category=price&cursor=%%%", 400, "invalid_cursor"),
        (
            "category=price&cursor=MjAyNi0xMS0wMVQwMDowMDowMHw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
            400,
            "invalid_cursor",
        ),
        ("category=price&from=soon", 400, "invalid_date"),
        ("category=price&limit=0", 422, "validation_error"),
        ("category=price&limit=201", 422, "validation_error"),
        ("category=price&limit=ten", 422, "validation_error"),
        ("category=price&format=xlsx", 422, "validation_error"),
        ("category=" + "p" * 300, 422, "validation_error"),
    ],
)
def test_bad_evidence_params(
    idle_client: TestClient, tenant: TenantCredentials, query: str, status: int, code: str
) -> None:
    r = idle_client.get(f"/v1/evidence?{query}", headers=auth(tenant))
    assert r.status_code == status, r.text
    assert r.json()["error"] == code


def test_review_json_has_every_section(client: TestClient, tenant: TenantCredentials) -> None:
    setup_tenant(client, tenant)
    soon = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    post_deal(client, tenant, deal_event("WON", updated_at=iso(ago(20))))
    post_email(client, tenant, PRICE, deal="WON", sent=ago(15))
    post_deal(client, tenant, deal_event("WON", status="won", updated_at=iso(ago(3))))
    post_deal(client, tenant, deal_event("SOON", close_date=soon, updated_at=iso(ago(2))))
    post_deal(client, tenant, deal_event("STUCK", stage="proposal", updated_at=iso(ago(45))))
    post_email(client, tenant, AUTHORITY, deal="STUCK", sent=ago(4))
    post_email(client, tenant, HUBSPOT, deal="SOON", sent=ago(2))
    r = client.get(f"/v1/review?since={iso(ago(14))}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    body = r.json()
    [win] = body["wins"]
    assert win["deal"]["external_id"] == "WON"
    assert [o["category"] for o in win["objections_overcome"]] == ["price"]
    assert win["objections_overcome"][0]["quote"]["quote"] in PRICE
    assert {d["external_id"] for d in body["new_deals"]} == {"SOON"}
    assert "SOON" in {d["external_id"] for d in body["closing"]}
    assert [d["external_id"] for d in body["stalled"]] == ["STUCK"]
    # "also evaluating HubSpot" is a competition objection on SOON; the won deal has none open.
    by_deal = {d["deal"]["external_id"]: d["objections"] for d in body["open_objections"]}
    assert [o["category"] for o in by_deal["STUCK"]] == ["authority"] and "WON" not in by_deal
    [hub] = body["competitors"]
    assert (hub["name"], hub["current"], hub["previous"], hub["change"]) == ("HubSpot", 1, 0, 1)
    assert "HubSpot" in hub["quotes"][0]["quote"]


def test_review_bad_window_is_400(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = idle_client.get(f"/v1/review?since={iso(ago(1))}&until={iso(ago(2))}", headers=auth(tenant))
    assert r.status_code == 400 and r.json()["error"] == "invalid_range"
    r = idle_client.get(f"/v1/review?since={iso(ago(400))}", headers=auth(tenant))
    assert r.status_code == 400 and r.json()["error"] == "range_too_long"
    r = idle_client.get("/v1/review?since=tomorrowish", headers=auth(tenant))
    assert r.status_code == 422
