"""POST /v1/analyze: run the pipeline with the caller's trackers and catalogue, store nothing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from models import Tenant
from nlp.metrics import call_metrics
from nlp.types import Segment, Utterance
from service.auth import TenantDep
from service.db import SessionDep
from service.errors import Unavailable
from service.insights.schemas import AnalyzeIn, AnalyzeOut
from service.insights.service import insight_out, tenant_nlp_config

router = APIRouter(tags=["insights"])


@router.post("/v1/analyze", response_model=AnalyzeOut)
async def analyze_text(
    body: AnalyzeIn, request: Request, tenant: TenantDep, session: SessionDep
) -> AnalyzeOut:
    """Analyse utterances or an email as if it were a conversation of this tenant."""
    from nlp.pipeline import PipelineError
    from nlp.registry import analyze

    rt = request.app.state.ctx.runtime
    tenant_id = tenant.id
    cfg = await run_in_threadpool(lambda: tenant_nlp_config(session, tenant_id=tenant_id))
    if body.utterances is not None:
        utterances = [Utterance(u.speaker, u.text, u.start, u.end) for u in body.utterances]
        kind = "call"
    else:
        assert body.email is not None
        utterances = await run_in_threadpool(_email_utterances, session, tenant_id, body.email.raw)
        kind = "email"
    try:
        doc = await run_in_threadpool(
            lambda: analyze(rt.pipeline(), utterances, tenant=cfg, kind=kind)
        )
    except PipelineError as exc:
        raise Unavailable(
            f"the analyzer is not available: {exc}", code="analyzer_unavailable"
        ) from exc
    metrics: dict[str, object] = {}
    timed = [u for u in utterances if u.start is not None and u.end is not None]
    if kind == "call" and timed:
        segments = [Segment(u.speaker, u.start or 0.0, u.end or 0.0, u.text) for u in timed]
        duration = max(u.end or 0.0 for u in timed) - min(u.start or 0.0 for u in timed)
        metrics = call_metrics(segments, duration_s=duration).as_dict()
    metrics.update(doc.metrics)
    return AnalyzeOut(insights=[insight_out(i) for i in doc.insights], metrics=metrics)


def _email_utterances(session: Session, tenant_id: uuid.UUID, raw: str) -> list[Utterance]:
    """The new text of an email as one utterance, its speaker from the tenant's domains."""
    from service.emails.schemas import EmailIn
    from service.emails.service import email_speaker, parse

    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    parsed = parse(
        EmailIn(raw=raw), own_domains=list(tenant.email_domains or []), max_bytes=10 * 1024 * 1024
    )
    return [Utterance(email_speaker(parsed.direction), parsed.new_text)]  # type: ignore[arg-type]
