"""GET /v1/trends/objections and /v1/trends/competitors over emails analysed for real."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.service.deal_support import (
    HUBSPOT,
    NEUTRAL,
    PRICE,
    deal_event,
    post_deal,
    post_email,
    setup_tenant,
)
from tests.support import auth

WEEK = "from=2026-11-02&to=2026-11-23&interval=week"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def get(client: TestClient, creds: TenantCredentials, path: str) -> dict[str, object]:
    r = client.get(path, headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(r.json())


def points(body: dict[str, object], label: str) -> dict[str, dict[str, object]]:
    return {str(p["bucket"]): p for p in body["points"] if p["label"] == label}  # type: ignore[attr-defined]


def test_rates_and_intervals_match_a_hand_computation(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    for day in ("2026-11-10T09:00:00", "2026-11-11T09:00:00", "2026-11-12T09:00:00"):
        post_email(client, tenant, PRICE, sent=at(day))
    post_email(client, tenant, NEUTRAL, sent=at("2026-11-13T09:00:00"))
    body = get(client, tenant, f"/v1/trends/objections?{WEEK}&category=price")
    assert body["buckets"] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert body["conversations"] == {"2026-11-02": 0, "2026-11-09": 4, "2026-11-16": 0}
    week = points(body, "price")["2026-11-09"]
    assert (week["count"], week["conversations"], week["conversations_with"]) == (3, 4, 3)
    assert week["rate"] == pytest.approx(0.75)
    # Exact Poisson for 3 events: (0.6187, 8.7673) from the chi-square table, per 4 conversations.
    assert week["rate_low"] == pytest.approx(0.6187 / 4, abs=1e-4)
    assert week["rate_high"] == pytest.approx(8.7673 / 4, abs=1e-4)
    # Wilson for 3 of 4, z = 1.96: centre 0.6275, half-width 0.3269.
    assert week["share"] == pytest.approx(0.75)
    assert week["share_low"] == pytest.approx(0.3006, abs=1e-3)
    assert week["share_high"] == pytest.approx(0.9544, abs=1e-3)
    empty = points(body, "price")["2026-11-02"]
    assert (empty["count"], empty["conversations"], empty["rate"], empty["rate_high"]) == (
        0,
        0,
        0.0,
        0.0,
    )


def test_buckets_are_utc_days_monday_weeks_and_months(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_email(client, tenant, PRICE, sent=at("2026-10-31T23:30:00"))  # a Saturday
    post_email(client, tenant, PRICE, sent=at("2026-11-01T00:30:00"))  # the Sunday after
    window = "from=2026-10-30&to=2026-11-03&category=price"
    day = points(get(client, tenant, f"/v1/trends/objections?{window}&interval=day"), "price")
    assert {b: p["count"] for b, p in day.items()} == {
        "2026-10-30": 0,
        "2026-10-31": 1,
        "2026-11-01": 1,
        "2026-11-02": 0,
    }
    week = points(get(client, tenant, f"/v1/trends/objections?{window}&interval=week"), "price")
    assert {b: p["count"] for b, p in week.items()} == {"2026-10-26": 2, "2026-11-02": 0}
    month = points(get(client, tenant, f"/v1/trends/objections?{window}&interval=month"), "price")
    assert {b: p["count"] for b, p in month.items()} == {"2026-10-01": 1, "2026-11-01": 1}


def test_filters_by_team_rep_stage_and_other_tenants_never_count(
    client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    for creds in (tenant, other_tenant):
        setup_tenant(client, creds)
    post_deal(client, tenant, deal_event("A", stage="proposal"))
    post_deal(client, tenant, deal_event("B", stage="discovery"))
    sent = at("2026-11-10T10:00:00")
    post_email(client, tenant, PRICE, deal="A", rep="R-1", team="East", sent=sent)
    post_email(client, tenant, PRICE, deal="B", rep="R-2", team="West", sent=sent)
    post_email(client, other_tenant, PRICE, deal="A", rep="R-1", team="East", sent=sent)

    def week(query: str) -> tuple[object, object]:
        body = get(client, tenant, f"/v1/trends/objections?{WEEK}&category=price&{query}")
        p = points(body, "price")["2026-11-09"]
        return p["count"], p["conversations"]

    assert week("") == (2, 2)
    assert week("team=East") == (1, 1) and week("team=West") == (1, 1)
    assert week("rep=R-2") == (1, 1) and week("stage=proposal") == (1, 1)
    assert week("deal=B") == (1, 1) and week("team=North") == (0, 0)
    other = get(client, other_tenant, f"/v1/trends/objections?{WEEK}&category=price")
    assert points(other, "price")["2026-11-09"]["count"] == 1


def test_competitor_trend_per_competitor_and_context(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_email(client, tenant, HUBSPOT, sent=at("2026-11-10T10:00:00"))
    post_email(client, tenant, NEUTRAL, sent=at("2026-11-11T10:00:00"))
    body = get(client, tenant, f"/v1/trends/competitors?{WEEK}")
    hub = [p for p in body["points"] if p["label"] == "HubSpot"]  # type: ignore[attr-defined]
    assert {p["context"] for p in hub} == {"evaluating"} and len(hub) == 3
    [week] = [p for p in hub if p["bucket"] == "2026-11-09"]
    assert (week["count"], week["conversations"], week["rate"]) == (1, 2, 0.5)
    narrowed = get(client, tenant, f"/v1/trends/competitors?{WEEK}&competitor=HubSpot&context=past")
    assert all(p["count"] == 0 for p in narrowed["points"])  # type: ignore[attr-defined]


def test_csv_has_a_header_and_a_row_per_label_and_bucket(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_email(client, tenant, PRICE, sent=at("2026-11-10T10:00:00"))
    r = client.get(f"/v1/trends/objections?{WEEK}&format=csv", headers=auth(tenant))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        "bucket",
        "label",
        "context",
        "count",
        "conversations",
        "rate",
        "rate_low",
        "rate_high",
        "conversations_with",
        "share",
        "share_low",
        "share_high",
    ]
    labels = {row["label"] for row in rows}
    assert "price" in labels and len(rows) == 3 * len(labels)
    [price] = [row for row in rows if row["label"] == "price" and row["bucket"] == "2026-11-09"]
    assert (int(price["count"]), int(price["conversations"]), float(price["rate"])) == (1, 1, 1.0)
    assert price["context"] == ""


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("interval=hour", "invalid_interval"),
        ("from=yesterday", "invalid_date"),
        ("to=2026-02-30", "invalid_date"),
        ("from=2026-11-10&to=2026-11-01", "invalid_range"),
        ("from=2026-11-10&to=2026-11-10", "invalid_range"),
        ("from=2024-01-01&to=2026-01-01&interval=day", "too_many_buckets"),
        ("from=2015-01-01&to=2026-01-01&interval=month", "range_too_long"),
    ],
)
def test_bad_trend_params_are_400_with_a_code(
    idle_client: TestClient, tenant: TenantCredentials, query: str, code: str
) -> None:
    for path in ("/v1/trends/objections", "/v1/trends/competitors"):
        r = idle_client.get(f"{path}?{query}", headers=auth(tenant))
        assert r.status_code == 400, r.text
        assert r.json()["error"] == code and r.json()["detail"]


@pytest.mark.parametrize(
    "query", ["format=xml", "category=", "team=" + "x" * 300, "from=" + "2" * 50]
)
def test_malformed_trend_params_are_422(
    idle_client: TestClient, tenant: TenantCredentials, query: str
) -> None:
    r = idle_client.get(f"/v1/trends/objections?{query}", headers=auth(tenant))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_trends_need_an_api_key(idle_client: TestClient) -> None:
    assert idle_client.get("/v1/trends/objections").status_code == 401
    r = idle_client.get("/v1/trends/competitors", headers={"Authorization": "Bearer dsk_nope"})
    assert r.status_code == 401
