"""Risk flags on the deal page and the board, each explained and linked to its evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO
from tests.service.deal_support import (
    ANSWER,
    AUTHORITY,
    HUBSPOT,
    NEUTRAL,
    PRICE,
    ago,
    deal_event,
    detail,
    flags,
    iso,
    post_deal,
    post_email,
    setup_tenant,
)
from tests.support import auth, metadata, multipart_body, wait_for


def board(client: TestClient, creds: TenantCredentials, risk: str) -> set[str]:
    r = client.get(f"/v1/deals?risk={risk}", headers=auth(creds))
    assert r.status_code == 200, r.text
    return {d["external_id"] for d in r.json()["items"]}


def patch_risk(client: TestClient, creds: TenantCredentials, **risk: object) -> dict[str, object]:
    r = client.patch("/v1/tenant", json={"risk": risk}, headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(r.json()["risk"])


def test_stalled_follows_the_tenant_setting(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    post_deal(idle_client, tenant, deal_event("OLD", stage="proposal", updated_at=iso(ago(40))))
    post_deal(idle_client, tenant, deal_event("NEW", stage="proposal", updated_at=iso(ago(3))))
    flag = flags(idle_client, tenant, "OLD")["stalled"]
    assert "40 days" in flag["explanation"] and "30-day" in flag["explanation"]
    assert flag["evidence"][0]["kind"] == "stage_change"
    assert board(idle_client, tenant, "stalled") == {"OLD"}
    assert patch_risk(idle_client, tenant, stalled_days=60)["stalled_days"] == 60
    assert board(idle_client, tenant, "stalled") == set()
    assert patch_risk(idle_client, tenant, stalled_days=2)["no_contact_days"] == 14  # unchanged
    assert board(idle_client, tenant, "stalled") == {"OLD", "NEW"}


def test_close_date_passed_only_while_open(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    post_deal(idle_client, tenant, deal_event("LATE", close_date=yesterday))
    post_deal(idle_client, tenant, deal_event("WON", close_date=yesterday, status="won"))
    flag = flags(idle_client, tenant, "LATE")["close_date_passed"]
    assert yesterday in flag["explanation"] and "1 days ago" in flag["explanation"]
    assert board(idle_client, tenant, "close_date_passed") == {"LATE"}
    assert flags(idle_client, tenant, "WON") == {}


def test_no_contact_links_the_last_customer_contact(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event("QUIET"))
    post_deal(client, tenant, deal_event("BUSY"))
    old = post_email(client, tenant, NEUTRAL, deal="QUIET", sent=ago(20))
    # A rep's own outbound email is not customer contact.
    post_email(client, tenant, NEUTRAL, deal="QUIET", sent=ago(2), inbound=False)
    post_email(client, tenant, NEUTRAL, deal="BUSY", sent=ago(2))
    flag = flags(client, tenant, "QUIET")["no_contact"]
    assert "20 days" in flag["explanation"]
    assert flag["evidence"][0]["conversation_id"] == old
    assert flag["evidence"][0]["url"] == f"/v1/conversations/{old}"
    assert board(client, tenant, "no_contact") == {"QUIET"}
    patch_risk(client, tenant, no_contact_days=30)
    assert board(client, tenant, "no_contact") == set()


def test_active_competitor_with_the_quote(client: TestClient, tenant: TenantCredentials) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event())
    cid = post_email(client, tenant, HUBSPOT, sent=ago(5))
    flag = flags(client, tenant, "D-1")["active_competitor"]
    assert "HubSpot (evaluating" in flag["explanation"]
    assert (
        flag["evidence"][0]["conversation_id"] == cid and "HubSpot" in flag["evidence"][0]["quote"]
    )
    d = detail(client, tenant, "D-1")
    [hub] = d["competitors"]
    assert hub["name"] == "HubSpot" and hub["active"] and hub["contexts"] == {"evaluating": 1}
    patch_risk(client, tenant, competitor_days=2)
    assert "active_competitor" not in flags(client, tenant, "D-1")
    assert detail(client, tenant, "D-1")["competitors"][0]["active"] is False


def test_objection_open_resolved_and_raised_again(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event())
    first = post_email(client, tenant, PRICE, sent=ago(10))
    [price] = [o for o in detail(client, tenant, "D-1")["objections"] if o["category"] == "price"]
    assert (price["status"], price["reasons"]) == ("open", ["no_rep_response"])
    assert "open_objections" in flags(client, tenant, "D-1")
    assert board(client, tenant, "open_objections") == {"D-1"}
    # The rep answers: resolved.
    post_email(client, tenant, ANSWER, sent=ago(9), inbound=False)
    [price] = [o for o in detail(client, tenant, "D-1")["objections"] if o["category"] == "price"]
    assert (price["status"], price["reasons"]) == ("resolved", [])
    assert "open_objections" not in flags(client, tenant, "D-1")
    assert board(client, tenant, "open_objections") == set()
    # The customer raises it again in a later email: open again, both quotes as evidence.
    again = post_email(client, tenant, PRICE, sent=ago(4))
    [price] = [o for o in detail(client, tenant, "D-1")["objections"] if o["category"] == "price"]
    assert price["status"] == "open"
    assert set(price["reasons"]) == {"raised_again", "no_rep_response"}
    assert (price["times_raised"], price["conversations"]) == (2, 2)
    assert [e["conversation_id"] for e in price["evidence"]] == [again, first]
    flag = flags(client, tenant, "D-1")["open_objections"]
    assert "price (raised again, no rep response)" in flag["explanation"]
    assert flag["evidence"][0]["conversation_id"] == again
    assert board(client, tenant, "open_objections") == {"D-1"}


def test_objection_categories_setting(client: TestClient, tenant: TenantCredentials) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event())
    post_email(client, tenant, AUTHORITY, sent=ago(3))
    assert "authority" in flags(client, tenant, "D-1")["open_objections"]["explanation"]
    assert board(client, tenant, "open_objections") == {"D-1"}
    patch_risk(client, tenant, objection_categories=["price"])
    assert "open_objections" not in flags(client, tenant, "D-1")
    # Still listed on the page, open, just not a risk under these settings.
    objs = {o["category"]: o["status"] for o in detail(client, tenant, "D-1")["objections"]}
    assert objs["authority"] == "open"
    patch_risk(client, tenant, objection_categories=["authority"], objection_lookback_days=1)
    assert "open_objections" not in flags(client, tenant, "D-1")


@pytest.mark.slow
def test_talk_ratio_and_in_call_rep_response_from_a_real_call(
    client: TestClient, tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    post_deal(client, tenant, deal_event())
    meta = metadata(started_at=iso(ago(2)))
    body, ctype = multipart_body(meta, (AUDIO / "dialogue_stereo.wav").read_bytes())
    r = client.post("/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype})
    assert r.status_code == 202, r.text
    cid = r.json()["conversation_id"]
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv["error"]
    ratio = conv["metrics"]["rep_talk_ratio"]
    d = detail(client, tenant, "D-1")
    assert [p["rep_talk_ratio"] for p in d["talk_metrics"]] == [pytest.approx(ratio)]
    # The customer's price worry is followed by the rep's answer in the same call.
    price = [o for o in d["objections"] if o["category"] == "price"]
    assert price and price[0]["status"] == "resolved"
    # The board's filter agrees with the deal's own flags.
    flagged = "open_objections" in flags(client, tenant, "D-1")
    assert ("D-1" in board(client, tenant, "open_objections")) == flagged
    assert "talk_ratio_high" not in flags(client, tenant, "D-1")
    patch_risk(client, tenant, talk_ratio_max=round(ratio - 0.05, 2))
    flag = flags(client, tenant, "D-1")["talk_ratio_high"]
    assert f"{ratio:.0%}" in flag["explanation"] and flag["evidence"][0]["conversation_id"] == cid
    assert board(client, tenant, "talk_ratio_high") == {"D-1"}


@pytest.mark.parametrize(
    "risk",
    [
        {"stalled_days": 0},
        {"stalled_days": "soon"},
        {"talk_ratio_max": 1.5},
        {"objection_categories": [""]},
        {"objection_categories": "price"},
        {"objection_categories": ["x"] * 51},
        {"no_such_setting": 1},
    ],
)
def test_bad_risk_settings_are_422_and_change_nothing(
    idle_client: TestClient, tenant: TenantCredentials, risk: dict[str, object]
) -> None:
    r = idle_client.patch("/v1/tenant", json={"risk": risk}, headers=auth(tenant))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    got = idle_client.get("/v1/tenant", headers=auth(tenant)).json()["risk"]
    assert got["stalled_days"] == 30 and got["talk_ratio_max"] == 0.65
    assert got["objection_categories"] == [
        "price",
        "authority",
        "competition",
        "security",
        "contract",
    ]


def test_other_tenants_activity_never_flags_our_deal(
    client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    setup_tenant(client, tenant)
    setup_tenant(client, other_tenant)
    post_deal(client, tenant, deal_event())
    post_deal(client, other_tenant, deal_event())
    post_email(client, other_tenant, PRICE + " " + HUBSPOT, sent=ago(2))
    assert flags(client, tenant, "D-1") == {}
    assert detail(client, tenant, "D-1")["timeline"] == []
    assert set(flags(client, other_tenant, "D-1")) >= {"open_objections", "active_competitor"}
