"""A realistic small pipeline for the page tests, seeded only through the public endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO
from tests.service.deal_support import ago, iso, post_deal, post_email, setup_tenant
from tests.support import auth, multipart_body, post_webhook, wait_for

Client = TestClient | httpx.Client
DANA = {"external_id": "R-1", "name": "Dana Smith", "team": "East"}
SAM = {"external_id": "R-2", "name": "Sam Lee", "team": "East"}
PRIYA = {"external_id": "R-3", "name": "Priya Rao", "team": "West"}


@dataclass
class Seeded:
    """What was seeded: conversation ids by name."""

    call_id: str = ""
    emails: dict[str, str] = field(default_factory=dict)


def _deal(
    client: Client, creds: TenantCredentials, external_id: str, days_ago: float, **fields: Any
) -> None:
    event = {
        "event": "deal.updated",
        "external_id": external_id,
        "currency": "USD",
        "status": "open",
        "updated_at": iso(ago(days_ago)),
        **fields,
    }
    r = post_deal(client, creds, event)
    assert r.status_code == 200, r.text


def _close_in(days: int) -> str:
    return ago(-days).date().isoformat()


def seed_pipeline(client: Client, creds: TenantCredentials, *, call: bool = True) -> Seeded:
    """Four deals (won, new and closing, stalled, another team), a real call and emails."""
    setup_tenant(client, creds)  # type: ignore[arg-type]
    out = Seeded()
    # Won this week after a price objection two weeks ago.
    win = {"name": "Globex rollout", "amount": 58000, "owner": DANA, "team": "East"}
    _deal(client, creds, "D-WIN", 40, stage="discovery", close_date=_close_in(5), **win)
    _deal(client, creds, "D-WIN", 12, stage="negotiation", close_date=_close_in(5), **win)
    # Entered the pipeline this week, due before the next review; the real call is on it.
    acme = {"name": "Acme renewal", "amount": 42000, "owner": DANA, "team": "East"}
    _deal(client, creds, "D-ACME", 5, stage="proposal", close_date=_close_in(4), **acme)
    # In negotiation for 45 days: stalled; the CFO has to approve.
    ini = {"name": "Initech platform", "amount": 120000, "owner": SAM, "team": "East"}
    _deal(client, creds, "D-STALL", 45, stage="negotiation", close_date=_close_in(20), **ini)
    # Another team's new deal, evaluating HubSpot.
    umb = {"name": "Umbrella pilot", "amount": 18000, "owner": PRIYA, "team": "West"}
    _deal(client, creds, "D-WEST", 2, stage="discovery", close_date=_close_in(40), **umb)

    mails = [
        (
            "win-price",
            "D-WIN",
            10,
            True,
            "R-1",
            "Honestly the price is far too high for our budget.",
        ),
        (
            "win-answer",
            "D-WIN",
            9,
            False,
            "R-1",
            "Thanks Chris, we can offer a monthly plan with no annual contract.",
        ),
        ("stall-hubspot", "D-STALL", 10, True, "R-2", "We already use HubSpot for our pipeline."),
        (
            "stall-cfo",
            "D-STALL",
            6,
            True,
            "R-2",
            "I need approval from my CFO before we can sign anything.",
        ),
        (
            "west-hubspot",
            "D-WEST",
            1,
            True,
            "R-3",
            "We are also evaluating HubSpot for this project.",
        ),
    ]
    for name, deal, days, inbound, rep, text in mails:
        team = "West" if deal == "D-WEST" else "East"
        out.emails[name] = post_email(
            client,
            creds,
            text,
            deal=deal,
            sent=ago(days),
            inbound=inbound,
            rep=rep,
            team=team,  # type: ignore[arg-type]
            wait=False,
        )
    if call:
        meta = {
            "external_id": "call-acme-1",
            "deal": {"external_id": "D-ACME", "name": "Acme renewal", "stage": "proposal"},
            "rep": {"external_id": "R-1", "name": "Dana Smith", "team": "East"},
            "participants": [{"name": "Laura Chen", "role": "customer"}],
            "started_at": iso(ago(2)),
            "direction": "outbound",
            "channels": {"0": "rep", "1": "customer"},
        }
        clip = "dialogue_stereo.wav"
        body, ctype = multipart_body(meta, (AUDIO / clip).read_bytes(), filename=clip)
        r = post_webhook(client, creds, body, ctype)
        assert r.status_code == 202, r.text
        out.call_id = str(r.json()["conversation_id"])
    for cid in [*out.emails.values(), *([out.call_id] if call else [])]:
        conv = wait_for(client, creds, cid, timeout=300)
        assert conv["status"] == "done", conv.get("error")
    # Won three days ago.
    _deal(
        client, creds, "D-WIN", 3, stage="closed won", status="won", close_date=_close_in(5), **win
    )
    return out


def conversation_json(client: Client, creds: TenantCredentials, cid: str) -> dict[str, Any]:
    """A conversation as the API returns it."""
    r = client.get(f"/v1/conversations/{cid}", headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(json.loads(r.text))
