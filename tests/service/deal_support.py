"""Helpers for the deal, trend and evidence tests: deal events and emails through the API."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.support import auth, post_webhook, wait_for

CATALOGUE = [{"name": "HubSpot", "aliases": []}, {"name": "Salesforce", "aliases": ["SFDC"]}]
PRICE = "Honestly the price is far too high for our budget this year."
AUTHORITY = "I need approval from my CFO before we can sign anything."
HUBSPOT = "We are also evaluating HubSpot for this project."
NEUTRAL = "Thanks for the call yesterday, the notes look good."
ANSWER = "Thanks Chris, we can offer a monthly plan with no annual contract."


def ago(days: float) -> datetime:
    """A UTC time some days before now."""
    return datetime.now(UTC) - timedelta(days=days)


def iso(at: datetime) -> str:
    """A UTC ISO timestamp."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deal_event(external_id: str = "D-1", **fields: Any) -> dict[str, Any]:
    """A deal.updated event with typical values; fields override them."""
    event: dict[str, Any] = {
        "event": "deal.updated",
        "external_id": external_id,
        "name": "Acme expansion",
        "stage": "discovery",
        "amount": 42000,
        "currency": "usd",
        "close_date": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        "owner": {"external_id": "R-1", "name": "Dana Smith", "team": "East"},
        "team": "East",
        "status": "open",
        "updated_at": iso(ago(1)),
    }
    event.update(fields)
    return event


def post_deal(
    client: TestClient, creds: TenantCredentials, event: dict[str, Any] | bytes
) -> httpx.Response:
    """POST a signed deal.updated event."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return post_webhook(client, creds, body)


def setup_tenant(client: TestClient, creds: TenantCredentials) -> None:
    """Own email domain (so mail from buyers is inbound) and a competitor catalogue."""
    r = client.patch("/v1/tenant", json={"email_domains": ["seller.example"]}, headers=auth(creds))
    assert r.status_code == 200, r.text
    assert client.put("/v1/competitors", json=CATALOGUE, headers=auth(creds)).status_code == 200


def post_email(
    client: TestClient,
    creds: TenantCredentials,
    text: str,
    *,
    deal: str = "D-1",
    sent: datetime | None = None,
    inbound: bool = True,
    rep: str = "R-1",
    team: str | None = "East",
    wait: bool = True,
) -> str:
    """Post an email through /v1/emails (the real analysis path); its conversation id."""
    buyer, seller = "chris@buyer.example", "dana@seller.example"
    body: dict[str, Any] = {
        "external_id": f"mail-{uuid.uuid4().hex[:12]}",
        "deal": {"external_id": deal},
        "rep": {"external_id": rep, **({"team": team} if team else {})},
        "from": buyer if inbound else seller,
        "to": [seller if inbound else buyer],
        "subject": "Re: proposal",
        "body": text,
        "sent_at": iso(sent or ago(1)),
    }
    r = client.post("/v1/emails", json=body, headers=auth(creds))
    assert r.status_code == 202, r.text
    cid = str(r.json()["conversation_id"])
    if wait:
        conv = wait_for(client, creds, cid)
        assert conv["status"] == "done", conv["error"]
    return cid


def deal_id(client: TestClient, creds: TenantCredentials, external_id: str) -> str:
    """The service's id of a deal, from the board."""
    items = client.get("/v1/deals", headers=auth(creds)).json()["items"]
    return str(next(d["id"] for d in items if d["external_id"] == external_id))


def detail(client: TestClient, creds: TenantCredentials, external_id: str) -> dict[str, Any]:
    """The deal page JSON."""
    r = client.get(f"/v1/deals/{deal_id(client, creds, external_id)}", headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(r.json())


def flags(client: TestClient, creds: TenantCredentials, external_id: str) -> dict[str, Any]:
    """The deal's risk flags by code."""
    return {f["code"]: f for f in detail(client, creds, external_id)["risk_flags"]}
