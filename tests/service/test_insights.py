"""Insights through the API: /v1/analyze, the competitor catalogue, trackers, re-analysis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO
from tests.support import auth, metadata, multipart_body, wait_for

CATALOGUE = [
    {"name": "Salesforce", "aliases": ["SFDC", "Sales Cloud"]},
    {"name": "HubSpot", "aliases": []},
    {"name": "Gong", "aliases": ["Gong.io"]},
]
INSIGHT_KEYS = {
    "kind",
    "label",
    "utterance",
    "quote",
    "span",
    "start",
    "end",
    "speaker",
    "confidence",
    "context",
}


def analyze(
    client: TestClient, creds: TenantCredentials, *utterances: tuple[str, str]
) -> dict[str, Any]:
    body = {"utterances": [{"speaker": s, "text": t} for s, t in utterances]}
    r = client.post("/v1/analyze", json=body, headers=auth(creds))
    assert r.status_code == 200, r.text
    return dict(r.json())


def labels(result: dict[str, Any], kind: str = "objection") -> set[str]:
    return {i["label"] for i in result["insights"] if i["kind"] == kind}


def test_analyze_shape_and_evidence(idle_client: TestClient, tenant: TenantCredentials) -> None:
    assert (
        idle_client.put("/v1/competitors", json=CATALOGUE, headers=auth(tenant)).status_code == 200
    )
    body = {
        "utterances": [
            {"speaker": "rep", "text": "How do you track calls today?", "start": 0.0, "end": 2.0},
            {
                "speaker": "customer",
                "text": "We use HubSpot. Honestly, the price is far too high for our budget.",
                "start": 2.5,
                "end": 8.0,
            },
        ]
    }
    r = idle_client.post("/v1/analyze", json=body, headers=auth(tenant))
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {"insights", "metrics"}
    for insight in out["insights"]:
        assert set(insight) == INSIGHT_KEYS
        text = body["utterances"][insight["utterance"]]["text"]
        assert text[insight["span"][0] : insight["span"][1]] == insight["quote"]
        assert 0.0 <= insight["confidence"] <= 1.0
    comp = [i for i in out["insights"] if i["kind"] == "competitor"]
    assert [(c["label"], c["context"], c["speaker"]) for c in comp] == [
        ("HubSpot", "incumbent", "customer")
    ]
    price = [i for i in out["insights"] if i["kind"] == "objection" and i["label"] == "price"]
    assert price and price[0]["speaker"] == "customer" and price[0]["utterance"] == 1
    assert price[0]["start"] == 2.5 and price[0]["end"] == 8.0 and price[0]["context"] is None
    assert out["metrics"]["rep_talk_ratio"] is not None


@pytest.mark.parametrize(
    ("speaker", "text", "absent"),
    [
        ("rep", "A lot of our clients worry about the price at first.", "price"),
        ("customer", "Price isn't really an issue for us.", "price"),
        ("customer", "What does it cost for twenty seats?", "price"),
    ],
)
def test_hard_negatives_are_not_objections(
    idle_client: TestClient, tenant: TenantCredentials, speaker: str, text: str, absent: str
) -> None:
    assert absent not in labels(analyze(idle_client, tenant, (speaker, text)))


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("Let's revisit this in Q3, we have no bandwidth right now.", "timing"),
        ("This has to go through our VP of sales before anything gets signed.", "authority"),
        ("If it's over fifty thousand a year we simply can't do it.", "price"),
        ("We'd need a SOC 2 report and SSO before security lets us use it.", "security"),
    ],
)
def test_indirect_objections_are_found(
    idle_client: TestClient, tenant: TenantCredentials, text: str, present: str
) -> None:
    assert present in labels(analyze(idle_client, tenant, ("customer", text)))


@pytest.mark.parametrize(
    "sentence",
    [
        "We're pretty happy with how the managers review calls today, "
        "so I'm not sure it's worth it.",
        "This has to go through our VP of sales before anything gets signed.",
    ],
)
def test_a_sentence_scores_the_same_alone_and_inside_a_longer_call(
    idle_client: TestClient, tenant: TenantCredentials, sentence: str
) -> None:
    # Dynamic int8 activations are scaled per model input: batch-mates must not move a score
    # (run in one batch with the others, these two moved by 0.007 and 0.0005).
    alone = analyze(idle_client, tenant, ("customer", sentence))
    crowded = analyze(
        idle_client,
        tenant,
        ("customer", "We'd need a SOC 2 report and SSO before security lets us use it."),
        ("rep", "Understood, I can send the report today."),
        ("customer", sentence),
        ("customer", "If it's over fifty thousand a year we simply can't do it, full stop."),
        ("customer", "Legal will want to redline the liability cap and the auto-renewal."),
    )

    def scores(result: dict[str, Any], utterance: int) -> dict[str, float]:
        return {
            i["label"]: i["confidence"]
            for i in result["insights"]
            if i["kind"] == "objection" and i["utterance"] == utterance
        }

    assert scores(alone, 0) and scores(alone, 0) == scores(crowded, 2)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"utterances": [], "email": {"raw": "x"}},
        {"utterances": [{"speaker": "boss", "text": "hi"}]},
        {"utterances": [{"speaker": "customer"}]},
        {"utterances": [{"speaker": "customer", "text": "x" * 30_000}]},
        {"utterances": "not a list"},
    ],
)
def test_analyze_rejects_malformed_bodies(
    idle_client: TestClient, tenant: TenantCredentials, body: Any
) -> None:
    r = idle_client.post("/v1/analyze", json=body, headers=auth(tenant))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_analyze_needs_an_api_key(idle_client: TestClient) -> None:
    r = idle_client.post("/v1/analyze", json={"utterances": []})
    assert r.status_code == 401


def test_competitor_catalogue_is_per_tenant(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    r = idle_client.put("/v1/competitors", json=CATALOGUE, headers=auth(tenant))
    assert [c["name"] for c in r.json()] == ["Gong", "HubSpot", "Salesforce"]
    assert idle_client.get("/v1/competitors", headers=auth(other_tenant)).json() == []
    out = analyze(idle_client, other_tenant, ("customer", "We use HubSpot."))
    assert labels(out, "competitor") == set()
    assert labels(analyze(idle_client, tenant, ("customer", "We use hub spot."))) is not None
    assert labels(analyze(idle_client, tenant, ("customer", "We use hub spot.")), "competitor") == {
        "HubSpot"
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([{"name": "A"}, {"name": "a"}], 400),
        ([{"name": ""}], 422),
        ([{"name": "!!!"}], 422),
        ([{"name": "X", "aliases": ["y" * 300]}], 422),
        ({"name": "not a list"}, 422),
        ([{"name": f"C{i}"} for i in range(501)], 422),
    ],
)
def test_bad_catalogues_are_refused_and_keep_the_old_one(
    idle_client: TestClient, tenant: TenantCredentials, body: Any, status: int
) -> None:
    idle_client.put("/v1/competitors", json=CATALOGUE, headers=auth(tenant))
    r = idle_client.put("/v1/competitors", json=body, headers=auth(tenant))
    assert r.status_code == status
    assert len(idle_client.get("/v1/competitors", headers=auth(tenant)).json()) == 3


SMART = {
    "label": "data-retention",
    "mode": "smart",
    "examples": [
        "how long do you keep our call recordings",
        "we need recordings deleted after ninety days",
        "our policy says audio can't be stored for more than a month",
        "can we set our own retention period for transcripts",
        "legal wants to know when you purge old calls",
    ],
    "negatives": ["we keep our CRM data forever, that's fine"],
}


def test_smart_tracker_lifecycle(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    few = {**SMART, "examples": SMART["examples"][:4]}
    r = idle_client.post("/v1/trackers", json=few, headers=auth(tenant))
    assert r.status_code == 400 and r.json()["error"] == "tracker_needs_examples"
    assert "at least 5" in r.json()["detail"] and "add 1 more" in r.json()["detail"]
    r = idle_client.post("/v1/trackers", json=SMART, headers=auth(tenant))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert idle_client.post("/v1/trackers", json=SMART, headers=auth(tenant)).status_code == 409
    out = analyze(
        idle_client,
        tenant,
        ("customer", "How many days do you retain the call audio before deleting it?"),
        ("customer", "The weather in Denver was lovely last week."),
    )
    hits = [i for i in out["insights"] if i["label"] == "data-retention"]
    assert [h["utterance"] for h in hits] == [0]
    assert (
        labels(analyze(idle_client, other_tenant, ("customer", "How long do you keep recordings?")))
        == set()
    )
    assert idle_client.get(f"/v1/trackers/{tid}", headers=auth(other_tenant)).status_code == 404
    assert idle_client.delete(f"/v1/trackers/{tid}", headers=auth(other_tenant)).status_code == 404
    listed = idle_client.get("/v1/trackers", headers=auth(tenant)).json()
    assert [t["label"] for t in listed] == ["data-retention"]
    keyword = {
        "label": "data-retention",
        "mode": "keyword",
        "phrases": ["retention"],
        "speaker": "any",
    }
    r = idle_client.put(f"/v1/trackers/{tid}", json=keyword, headers=auth(tenant))
    assert r.status_code == 200 and r.json()["mode"] == "keyword"
    out = analyze(idle_client, tenant, ("rep", "Our retention policy is flexible."))
    assert "data-retention" in labels(out)
    assert idle_client.delete(f"/v1/trackers/{tid}", headers=auth(tenant)).status_code == 204
    assert idle_client.get(f"/v1/trackers/{tid}", headers=auth(tenant)).status_code == 404
    assert idle_client.get(f"/v1/trackers/{uuid.uuid4()}", headers=auth(tenant)).status_code == 404
    assert idle_client.get("/v1/trackers/not-an-id", headers=auth(tenant)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"label": "x", "mode": "keyword", "phrases": []},
        {"label": "x", "mode": "keyword", "phrases": ["a"], "examples": ["b"]},
        {"label": "x", "mode": "smart", "phrases": ["a"], "examples": ["b"] * 5},
        {"label": "", "mode": "keyword", "phrases": ["a"]},
        {"label": "<script>", "mode": "keyword", "phrases": ["a"]},
        {"label": "x", "mode": "regex", "phrases": ["a"]},
    ],
)
def test_bad_trackers_are_refused(
    idle_client: TestClient, tenant: TenantCredentials, body: Any
) -> None:
    assert idle_client.post("/v1/trackers", json=body, headers=auth(tenant)).status_code == 422


def test_call_insights_are_stored_and_reanalysed(
    client: TestClient, tenant: TenantCredentials
) -> None:
    # The catalogue is offered to the recogniser as hotwords, so "HubSpot" comes out right.
    client.put("/v1/competitors", json=[CATALOGUE[1]], headers=auth(tenant))
    body, ctype = multipart_body(metadata(), (AUDIO / "dialogue_stereo.wav").read_bytes())
    r = client.post("/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype})
    cid = r.json()["conversation_id"]
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv["error"]
    assert {i["label"] for i in conv["insights"] if i["kind"] == "competitor"} == {"HubSpot"}
    said = [i for i in conv["insights"] if i["label"] == "HubSpot" and i["speaker"] == "customer"]
    assert said and said[0]["context"] == "incumbent"
    price = [i for i in conv["insights"] if i["label"] == "price"]
    assert price and all(i["speaker"] == "customer" for i in price)
    seg = conv["segments"]
    assert price[0]["start"] is not None and price[0]["start"] >= seg[0]["start"]
    client.put("/v1/competitors", json=CATALOGUE, headers=auth(tenant))
    r = client.post(f"/v1/conversations/{cid}/reanalyze", headers=auth(tenant))
    assert r.status_code == 202
    conv = wait_for(client, tenant, cid)
    competitors = {i["label"] for i in conv["insights"] if i["kind"] == "competitor"}
    assert competitors == {"HubSpot", "Salesforce"}
    assert len(conv["segments"]) == len(seg)  # transcript untouched


def test_reanalyze_needs_a_transcript(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    body, ctype = multipart_body(metadata(), (AUDIO / "short_mono.wav").read_bytes())
    cid = idle_client.post(
        "/v1/calls", content=body, headers={**auth(tenant), "Content-Type": ctype}
    ).json()["conversation_id"]
    r = idle_client.post(f"/v1/conversations/{cid}/reanalyze", headers=auth(tenant))
    assert r.status_code == 409 and r.json()["error"] == "not_transcribed"
    assert (
        idle_client.post(
            f"/v1/conversations/{cid}/reanalyze", headers=auth(other_tenant)
        ).status_code
        == 404
    )


def test_recurring_unknown_organisations_become_candidates(
    idle_client: TestClient, tenant: TenantCredentials, settings: Any
) -> None:

    from models import Conversation
    from nlp.registry import analyze as run_pipeline
    from nlp.types import Utterance
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.insights.service import replace_insights, tenant_nlp_config

    rt = idle_client.app.state.ctx.runtime  # type: ignore[attr-defined]
    idle_client.put("/v1/competitors", json=CATALOGUE, headers=auth(tenant))
    lines = [
        "We also talked to Nutshell CRM about this.",
        "Nutshell CRM quoted us less.",
        "Our sister team uses Nutshell CRM and HubSpot.",
    ]
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    for i, line in enumerate(lines):
        with session_scope(sessions) as s:
            conv = Conversation(
                tenant_id=uuid.UUID(tenant.tenant_id), source="api", external_id=f"org-{i}", meta={}
            )
            s.add(conv)
            s.flush()
            doc = run_pipeline(
                rt.pipeline(),
                [Utterance("customer", line)],
                tenant=tenant_nlp_config(s, tenant_id=conv.tenant_id),
            )
            replace_insights(s, conversation=conv, doc=doc, analyzer_version="test")
    engine.dispose()
    r = idle_client.get("/v1/competitors/candidates", headers=auth(tenant))
    assert r.status_code == 200
    # "Nutshell" and "Nutshell CRM" are one organisation.
    assert [(c["name"], c["conversations"]) for c in r.json()] == [("Nutshell", 3)]
    r = idle_client.get(
        "/v1/competitors/candidates", params={"min_conversations": 4}, headers=auth(tenant)
    )
    assert r.json() == []
    # Once in the catalogue it is no longer a candidate.
    idle_client.put(
        "/v1/competitors",
        json=[*CATALOGUE, {"name": "Nutshell", "aliases": ["Nutshell CRM"]}],
        headers=auth(tenant),
    )
    assert idle_client.get("/v1/competitors/candidates", headers=auth(tenant)).json() == []
