"""Calls and deals whose playbook field names a variant the experiment does not have."""

from __future__ import annotations

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from models import Conversation, Deal
from service.experiments.queries import whole_tenant
from service.experiments.schemas import UnknownVariantOut, UnknownVariantsOut
from service.experiments.service import Loaded

# A CRM can send any number of distinct keys: the page lists the most frequent ones.
MAX_LISTED = 20


def unknown_variants(session: Session, *, loaded: Loaded) -> UnknownVariantsOut:
    """Counted, never silently dropped: such calls and deals are left out of every metric."""
    exp = loaded.experiment
    keys = [v.key for v in loaded.variants]
    dialect = session.get_bind().dialect.name
    pv = Conversation.playbook_variant
    calls = (
        select(Conversation.playbook_variant, func.count())
        .where(
            whole_tenant(exp.tenant_id, dialect),
            Conversation.kind == "call",
            Conversation.analyzed_at.is_not(None),
            Conversation.playbook_experiment == exp.key,
            or_(pv.is_(None), pv.not_in(keys)),
            Conversation.occurred_at >= exp.started_at,
            Conversation.occurred_at < exp.stopped_at if exp.stopped_at else literal(True),
        )
        .group_by(Conversation.playbook_variant)
    )
    deals = (
        select(Deal.playbook_variant, func.count())
        .where(
            Deal.tenant_id == exp.tenant_id,
            Deal.playbook_experiment == exp.key,
            or_(Deal.playbook_variant.is_(None), Deal.playbook_variant.not_in(keys)),
        )
        .group_by(Deal.playbook_variant)
    )
    by_key: dict[str | None, list[int]] = {}
    for variant, n in session.execute(calls):
        by_key.setdefault(variant, [0, 0])[0] += int(n)
    for variant, n in session.execute(deals):
        by_key.setdefault(variant, [0, 0])[1] += int(n)
    ranked = sorted(by_key.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0] or ""))
    return UnknownVariantsOut(
        calls=sum(c for c, _ in by_key.values()),
        deals=sum(d for _, d in by_key.values()),
        distinct=len(by_key),
        variants=[
            UnknownVariantOut(variant=k, calls=c, deals=d) for k, (c, d) in ranked[:MAX_LISTED]
        ],
    )
