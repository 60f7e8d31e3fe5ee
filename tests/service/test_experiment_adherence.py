"""Script adherence in the real analyze step: a call of a variant is scored against its lines."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Conversation, ConversationAdherence, TranscriptSegment
from models.base import utcnow
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.service.test_experiments_api import create
from tests.support import auth, wait_for

LINES = [
    "Before we start, what would make this call a success for you?",
    "Who else is involved in making a decision like this?",
]
TURNS = [
    ("rep", "Hi, this is Dana. Before we dive in, what would you like to get out of today's call?"),
    ("customer", "Mostly I want to see the pricing. It is too expensive for us right now."),
    ("rep", "Understood. Let me show you the reporting view."),
]


def _transcribed_call(settings: Settings, tenant_id: str, *, variant: str | None) -> str:
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            now = utcnow()
            conv = Conversation(
                tenant_id=uuid.UUID(tenant_id),
                source="api",
                external_id=f"call-{uuid.uuid4().hex[:8]}",
                status="done",
                rep_external_id="R-1",
                playbook_experiment="opener-q4" if variant else None,
                playbook_variant=variant,
                meta={},
                started_at=now - timedelta(minutes=5),
                occurred_at=now - timedelta(minutes=5),
                duration_s=30.0,
                transcribed_at=now,
            )
            s.add(conv)
            s.flush()
            for i, (speaker, text) in enumerate(TURNS):
                s.add(
                    TranscriptSegment(
                        conversation_id=conv.id,
                        idx=i,
                        speaker=speaker,
                        start_s=i * 10.0,
                        end_s=i * 10.0 + 8.0,
                        text=text,
                        words=[],
                    )
                )
            return str(conv.id)
    finally:
        engine.dispose()


def _adherence(settings: Settings, cid: str) -> list[ConversationAdherence]:
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            return list(
                s.execute(
                    select(ConversationAdherence).where(
                        ConversationAdherence.conversation_id == uuid.UUID(cid)
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def test_analyze_scores_the_variants_key_lines(
    client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    started = (utcnow() - timedelta(days=1)).isoformat()
    exp = create(
        client,
        tenant,
        unit="conversation",
        started_at=started,
        variants=[
            {"key": "A", "control": True, "script": []},
            {"key": "B", "script": LINES},
        ],
    )
    cid = _transcribed_call(settings, tenant.tenant_id, variant="B")
    assert (
        client.post(f"/v1/conversations/{cid}/reanalyze", headers=auth(tenant)).status_code == 202
    )
    conv = wait_for(client, tenant, cid)
    assert conv["status"] == "done", conv
    (row,) = _adherence(settings, cid)
    assert row.variant_key == "B" and row.experiment_id == uuid.UUID(exp["id"])
    assert row.lines_total == 2 and row.lines_said == 1 and row.said_mask == "10"
    said = row.evidence[0]
    assert (
        said["said"]
        and said["quote"] == "Before we dive in, what would you like to get out of today's call?"
    )
    assert said["utterance"] == 0 and said["start"] == 0.0
    assert row.evidence[1]["said"] is False and row.evidence[1]["quote"] is None
    res = client.get(f"/v1/experiments/{exp['id']}/results", headers=auth(tenant)).json()
    usage = {a["variant"]: a for a in res["adherence"]}["B"]
    assert usage["calls_scored"] == 1 and usage["lines"][0]["said_calls"] == 1
    assert usage["lines"][0]["quote"] == said["quote"]
    # Analysing again replaces the row instead of adding one.
    client.post(f"/v1/conversations/{cid}/reanalyze", headers=auth(tenant))
    wait_for(client, tenant, cid)
    assert len(_adherence(settings, cid)) == 1


def test_calls_outside_any_experiment_are_not_scored(
    client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    cid = _transcribed_call(settings, tenant.tenant_id, variant=None)
    client.post(f"/v1/conversations/{cid}/reanalyze", headers=auth(tenant))
    assert wait_for(client, tenant, cid)["status"] == "done"
    assert _adherence(settings, cid) == []
