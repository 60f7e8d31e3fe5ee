"""The tenant's competitor catalogue: replaced as a whole, read back as a whole."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import delete, func, select

from models import Competitor, OrgMention
from nlp.components.organisations import org_key
from service.auth import TenantDep
from service.competitors.schemas import CandidateOut, CompetitorIn, CompetitorOut
from service.db import SessionDep
from service.errors import BadRequest

router = APIRouter(tags=["competitors"])
MAX_ENTRIES = 500


@router.get("/v1/competitors", response_model=list[CompetitorOut])
def get_competitors(tenant: TenantDep, session: SessionDep) -> list[CompetitorOut]:
    """The catalogue, by name."""
    rows = session.execute(
        select(Competitor).where(Competitor.tenant_id == tenant.id).order_by(Competitor.name)
    ).scalars()
    return [CompetitorOut(name=r.name, aliases=r.aliases, ambiguous=r.ambiguous) for r in rows]


@router.put("/v1/competitors", response_model=list[CompetitorOut])
def put_competitors(
    entries: Annotated[list[CompetitorIn], Body(max_length=MAX_ENTRIES)],
    tenant: TenantDep,
    session: SessionDep,
) -> list[CompetitorOut]:
    """Replace the catalogue; later conversations use it (re-analyse older ones to apply it)."""
    seen: set[str] = set()
    for e in entries:
        if e.name.lower() in seen:
            raise BadRequest(f"competitor {e.name!r} is listed twice", code="duplicate_competitor")
        seen.add(e.name.lower())
    session.execute(delete(Competitor).where(Competitor.tenant_id == tenant.id))
    session.add_all(
        Competitor(tenant_id=tenant.id, name=e.name, aliases=e.aliases, ambiguous=e.ambiguous)
        for e in entries
    )
    return [CompetitorOut(**e.model_dump()) for e in sorted(entries, key=lambda e: e.name)]


@router.get("/v1/competitors/candidates", response_model=list[CandidateOut])
def competitor_candidates(
    request: Request,
    tenant: TenantDep,
    session: SessionDep,
    min_conversations: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CandidateOut]:
    """Organisations not in the catalogue named in at least min_conversations conversations."""
    settings = request.app.state.ctx.settings
    threshold = min_conversations or settings.nlp.org_candidate_min_conversations
    known = set()
    for c in session.execute(select(Competitor).where(Competitor.tenant_id == tenant.id)).scalars():
        known.add(org_key(c.name))
        known.update(org_key(a) for a in c.aliases or ())
    convs = func.count(func.distinct(OrgMention.conversation_id))
    rows = session.execute(
        select(OrgMention.key, func.min(OrgMention.name), convs, func.max(OrgMention.occurred_at))
        .where(OrgMention.tenant_id == tenant.id)
        .group_by(OrgMention.key)
        .having(convs >= threshold)
        .order_by(convs.desc(), OrgMention.key)
        .limit(limit + len(known))
    ).all()
    out = [
        CandidateOut(name=name, conversations=n, last_seen=last)
        for key, name, n, last in rows
        if key not in known
    ]
    return out[:limit]
