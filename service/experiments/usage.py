"""Units seen per variant (for the sample-ratio check) and how often each key line was said."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, select, true, union_all
from sqlalchemy.orm import Session

from models import Conversation, ConversationAdherence, Deal, ExperimentExposure
from service.experiments.queries import before_stop, whole_tenant
from service.experiments.service import Loaded


def units_per_variant(session: Session, *, loaded: Loaded) -> dict[str, int]:
    """Distinct units seen per variant: logged exposures and the CRM's playbook fields."""
    exp = loaded.experiment
    unit_col = {
        "rep": Conversation.rep_external_id,
        "deal": Conversation.deal_external_id,
        "conversation": Conversation.external_id,
    }[exp.unit]
    logged = select(
        ExperimentExposure.unit_id.label("unit"), ExperimentExposure.variant_key.label("variant")
    ).where(ExperimentExposure.experiment_id == exp.id)
    from_crm = select(unit_col.label("unit"), Conversation.playbook_variant.label("variant")).where(
        whole_tenant(exp.tenant_id, session.get_bind().dialect.name),
        Conversation.playbook_experiment == exp.key,
        unit_col.is_not(None),
        Conversation.occurred_at >= exp.started_at,
        before_stop(exp),
    )
    if exp.unit == "conversation":
        # Each call is its own unit: count them, plus logged units with no call (yet).
        calls = select(Conversation.playbook_variant, func.count()).where(
            whole_tenant(exp.tenant_id, session.get_bind().dialect.name),
            Conversation.kind == "call",
            Conversation.playbook_experiment == exp.key,
            Conversation.occurred_at >= exp.started_at,
            before_stop(exp),
        )
        counts = {
            str(v): int(n)
            for v, n in session.execute(calls.group_by(Conversation.playbook_variant))
            if v is not None
        }
        no_call = logged.where(
            ~exists(
                select(Conversation.id).where(
                    Conversation.tenant_id == exp.tenant_id,
                    Conversation.kind == "call",
                    Conversation.external_id == ExperimentExposure.unit_id,
                    Conversation.playbook_experiment == exp.key,
                )
            )
        ).subquery()
        for v, n in session.execute(
            select(no_call.c.variant, func.count()).group_by(no_call.c.variant)
        ):
            counts[str(v)] = counts.get(str(v), 0) + int(n)
        return counts
    parts = [logged, from_crm]
    if exp.unit in ("rep", "deal"):
        deal_unit = Deal.owner_external_id if exp.unit == "rep" else Deal.external_id
        parts.append(
            select(deal_unit.label("unit"), Deal.playbook_variant.label("variant")).where(
                Deal.tenant_id == exp.tenant_id,
                Deal.playbook_experiment == exp.key,
                deal_unit.is_not(None),
            )
        )
    seen = union_all(*parts).subquery()
    stmt = select(seen.c.variant, func.count(func.distinct(seen.c.unit))).group_by(seen.c.variant)
    return {str(v): int(n) for v, n in session.execute(stmt)}


@dataclass(frozen=True, slots=True)
class LineUsage:
    """How often each key line of a variant was said, with a recent quote."""

    calls: int
    mean_share: float | None
    said: list[int]
    quotes: list[str | None]


def line_usage(session: Session, *, loaded: Loaded) -> dict[str, LineUsage]:
    """Per variant: scored calls, mean adherence, and per line the calls that said it."""
    exp = loaded.experiment
    longest = max((len(v.script) for v in loaded.variants), default=0)
    A = ConversationAdherence
    cols = [
        func.sum(case((func.substr(A.said_mask, i + 1, 1) == "1", 1), else_=0))
        for i in range(longest)
    ]
    before = (
        A.conversation_id.in_(select(Conversation.id).where(before_stop(exp)))
        if exp.stopped_at is not None
        else true()
    )
    stmt = (
        select(A.variant_key, func.count(), func.avg(A.share), *cols)
        .where(A.experiment_id == exp.id, before)
        .group_by(A.variant_key)
    )
    out: dict[str, LineUsage] = {}
    for row in session.execute(stmt):
        variant = loaded.variant(str(row[0]))
        if variant is None:
            continue
        n_lines = len(variant.script)
        said = [int(x or 0) for x in row[3 : 3 + n_lines]]
        out[variant.key] = LineUsage(
            int(row[1]), float(row[2]) if row[2] is not None else None, said, [None] * n_lines
        )
    # Evidence: the most recent quote for each line, from the latest scored calls.
    for key, usage in out.items():
        recent = session.execute(
            select(A.evidence)
            .where(A.experiment_id == exp.id, A.variant_key == key, before)
            .order_by(A.created_at.desc(), A.id.desc())
            .limit(50)
        ).scalars()
        for evidence in recent:
            for i, item in enumerate(evidence[: len(usage.quotes)]):
                if usage.quotes[i] is None and item.get("said") and item.get("quote"):
                    usage.quotes[i] = str(item["quote"])
    return out
