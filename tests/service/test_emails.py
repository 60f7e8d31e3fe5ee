"""Emails through the API and the webhook: parsing, direction, threads, insights, bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.support import auth, count_rows, post_webhook, wait_for

INBOUND = """\
From: Chris Lee <chris@buyer.example>
To: Dana Smith <dana@seller.example>
Subject: Re: Proposal
Date: Tue, 24 Nov 2026 10:02:00 +0000
Message-ID: <reply-1@buyer.example>
In-Reply-To: <proposal-1@seller.example>
References: <proposal-1@seller.example>
Content-Type: text/plain; charset=utf-8

Hi Dana,

Thanks for the proposal. Honestly the price is well above what we budgeted for this year,
and our CFO will have to sign off on anything over 20k.

Best regards,
Chris

On Mon, 23 Nov 2026 at 09:00, Dana Smith <dana@seller.example> wrote:
> Hi Chris, attached is our proposal. Some customers worry about security reviews,
> but we are SOC 2 certified.
"""

OUTBOUND = """\
From: Dana Smith <dana@seller.example>
To: Chris Lee <chris@buyer.example>
Subject: Proposal
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <proposal-1@seller.example>
Content-Type: text/plain; charset=utf-8

Hi Chris, attached is our proposal. Many teams find the price too high at first, but the
payback is quick.
"""


@pytest.fixture
def domains(idle_client: TestClient, tenant: TenantCredentials) -> None:
    r = idle_client.patch(
        "/v1/tenant", json={"email_domains": ["Seller.example"]}, headers=auth(tenant)
    )
    assert r.status_code == 200 and r.json()["email_domains"] == ["seller.example"]


def _post(client: TestClient, creds: TenantCredentials, raw: str, **extra: object) -> str:
    r = client.post("/v1/emails", json={"raw": raw, **extra}, headers=auth(creds))
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def test_inbound_email_objections_come_from_the_new_text_only(
    client: TestClient, tenant: TenantCredentials
) -> None:
    client.patch("/v1/tenant", json={"email_domains": ["seller.example"]}, headers=auth(tenant))
    cid = _post(client, tenant, INBOUND, deal={"external_id": "D-7"})
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv["error"]
    assert conv["kind"] == "email" and conv["direction"] == "inbound"
    assert conv["deal_external_id"] == "D-7"
    email = conv["metadata"]["email"]
    assert "price is well above" in email["new_text"]
    assert "SOC 2" not in email["new_text"] and "Best regards" not in email["new_text"]
    found = {i["label"] for i in conv["insights"] if i["kind"] == "objection"}
    assert "price" in found and "security" not in found
    for i in conv["insights"]:
        assert i["speaker"] == "customer"
        assert email["new_text"][i["span"][0] : i["span"][1]] == i["quote"]
        assert i["start"] is None and i["end"] is None


def test_outbound_email_gives_no_customer_objections(
    client: TestClient, tenant: TenantCredentials
) -> None:
    client.patch("/v1/tenant", json={"email_domains": ["seller.example"]}, headers=auth(tenant))
    conv = wait_for(client, tenant, _post(client, tenant, OUTBOUND))
    assert conv["status"] == "done" and conv["direction"] == "outbound"
    assert [i for i in conv["insights"] if i["kind"] == "objection"] == []


def test_thread_and_idempotency(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    a = _post(idle_client, tenant, OUTBOUND)
    b = _post(idle_client, tenant, INBOUND)
    again = idle_client.post("/v1/emails", json={"raw": INBOUND}, headers=auth(tenant))
    assert again.status_code == 200 and again.json()["conversation_id"] == b
    assert count_rows(settings, tenant.tenant_id) == (2, 2)
    from sqlalchemy import select

    from models import Conversation
    from service.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine)) as s:
        keys = {
            str(c.id): c.thread_key
            for c in s.execute(select(Conversation)).scalars()
            if str(c.id) in (a, b)
        }
    engine.dispose()
    assert keys[a] == keys[b] == "proposal-1@seller.example"


def test_email_as_fields(client: TestClient, tenant: TenantCredentials) -> None:
    client.patch("/v1/tenant", json={"email_domains": ["seller.example"]}, headers=auth(tenant))
    body = {
        "external_id": "crm-mail-1",
        "from": "chris@buyer.example",
        "to": ["dana@seller.example"],
        "subject": "pricing",
        "body": "<p>We need SSO and a SOC 2 report before security will approve this.</p>",
        "sent_at": "2026-11-24T10:00:00Z",
    }
    r = client.post("/v1/emails", json=body, headers=auth(tenant))
    assert r.status_code == 202, r.text
    conv = wait_for(client, tenant, r.json()["conversation_id"])
    assert conv["external_id"] == "crm-mail-1"
    assert "security" in {i["label"] for i in conv["insights"]}
    assert "<p>" not in conv["metadata"]["email"]["new_text"]


def test_email_webhook_event(idle_client: TestClient, tenant: TenantCredentials) -> None:
    event = {
        "event": "email.received",
        "external_id": "m-1",
        "deal": {"external_id": "D-1"},
        "raw": INBOUND,
    }
    r = post_webhook(idle_client, tenant, json.dumps(event).encode())
    assert r.status_code == 202, r.text
    r = post_webhook(idle_client, tenant, json.dumps(event).encode())
    assert r.status_code == 200
    bad = post_webhook(
        idle_client, tenant, json.dumps({"event": "email.received", "raw": ""}).encode()
    )
    assert bad.status_code == 400 and bad.json()["error"] == "empty_email"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"raw": ""}, 400, "empty_email"),
        ({"raw": "   \n  "}, 400, "empty_email"),
        ({"raw": "\x00\x01\x02\x03" * 500}, 400, "not_an_email"),
        ({"raw": "From: a@b.example\nSubject: hi\n\n"}, 400, "no_body"),
        ({"raw": "x", "body": "y"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"body": "hello", "sent_at": {"not": "a date"}}, 422, "validation_error"),
        ({"raw": "From: a@b.example\n\n" + "x" * (11 * 1024 * 1024)}, 422, "validation_error"),
    ],
)
def test_bad_emails_get_clear_errors_and_store_nothing(
    idle_client: TestClient,
    tenant: TenantCredentials,
    settings: Settings,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    r = idle_client.post("/v1/emails", json=body, headers=auth(tenant))
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


def test_analyze_an_email_without_storing(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings, domains: None
) -> None:
    r = idle_client.post("/v1/analyze", json={"email": {"raw": INBOUND}}, headers=auth(tenant))
    assert r.status_code == 200, r.text
    assert "price" in {i["label"] for i in r.json()["insights"]}
    r = idle_client.post("/v1/analyze", json={"email": {"raw": OUTBOUND}}, headers=auth(tenant))
    assert [i for i in r.json()["insights"] if i["kind"] == "objection"] == []
    r = idle_client.post("/v1/analyze", json={"email": {"raw": "\x00" * 100}}, headers=auth(tenant))
    assert r.status_code == 400
    assert count_rows(settings, tenant.tenant_id) == (0, 0)


@pytest.mark.parametrize(
    "patch",
    [
        {"email_domains": ["not a domain"]},
        {"email_domains": ["x" * 300 + ".com"]},
        {"disabled_categories": ["weather"]},
    ],
)
def test_bad_tenant_settings_are_refused(
    idle_client: TestClient, tenant: TenantCredentials, patch: dict[str, object]
) -> None:
    r = idle_client.patch("/v1/tenant", json=patch, headers=auth(tenant))
    assert r.status_code == 422
    assert idle_client.get("/v1/tenant", headers=auth(tenant)).json()["email_domains"] == []


def test_disabled_categories_are_not_reported(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    body = {
        "utterances": [
            {"speaker": "customer", "text": "That price is far too high for our budget."}
        ]
    }
    assert "price" in {
        i["label"]
        for i in idle_client.post("/v1/analyze", json=body, headers=auth(tenant)).json()["insights"]
    }
    idle_client.patch("/v1/tenant", json={"disabled_categories": ["price"]}, headers=auth(tenant))
    out = idle_client.post("/v1/analyze", json=body, headers=auth(tenant)).json()
    assert "price" not in {i["label"] for i in out["insights"]}
