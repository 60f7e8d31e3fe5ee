"""SQL aggregation for experiment results: per variant, cluster, day and adherence, in the database.

Each metric comes back as (count, sum, sum of squares) per group, so the statistics never see
individual conversations; with randomisation by conversation the groups are (variant, day,
adherent) and stay few however many calls there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from models import (
    Conversation,
    ConversationAdherence,
    Deal,
    DealStageChange,
    ExperimentExposure,
    Insight,
)
from models.base import utcnow
from nlp.objections import CATEGORIES
from service.experiments.metrics import METRICS
from service.experiments.service import Loaded

CONVERSATION_METRICS = [m.name for m in METRICS.values() if m.level == "conversation"]


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One group: variant, cluster (None when randomised by conversation), day, adherent."""

    variant: str
    cluster: str | None
    day: date
    adherent: bool
    stats: dict[str, tuple[float, float, float]]  # metric -> (count, sum, sum of squares)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def utc_date(col: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", col))
    return func.date(col)


def plus_days(col: Any, days: int, dialect: str) -> ColumnElement[Any]:
    """A timestamp column plus a whole number of days."""
    if dialect == "postgresql":
        return col + func.make_interval(0, 0, 0, days)  # type: ignore[no-any-return]
    return func.datetime(col, f"+{days} days")


def _f(expr: Any) -> ColumnElement[float]:
    return cast(expr, Float)


def conversation_groups(session: Session, *, loaded: Loaded) -> list[GroupRow]:
    """Conversation metrics of the experiment's calls, summed per group."""
    exp = loaded.experiment
    dialect = session.get_bind().dialect.name
    tenant_id = exp.tenant_id
    unit_col = {
        "rep": Conversation.rep_external_id,
        "deal": Conversation.deal_external_id,
        "conversation": Conversation.external_id,
    }[exp.unit]
    exposure = aliased(ExperimentExposure)
    adh = aliased(ConversationAdherence)
    variant = case(
        (Conversation.playbook_experiment == exp.key, Conversation.playbook_variant),
        else_=exposure.variant_key,
    )
    cluster = unit_col if exp.unit != "conversation" else null()
    objections = (
        select(
            Insight.conversation_id.label("cid"),
            *(func.max(case((Insight.label == c, 1), else_=0)).label(c) for c in CATEGORIES),
        )
        .where(
            Insight.tenant_id == tenant_id,
            Insight.kind == "objection",
            Insight.speaker == "customer",
        )
        .group_by(Insight.conversation_id)
        .subquery()
    )
    # Stage progression is known only once the window has passed: later calls are left out.
    window = exp.stage_window_days
    advanced = exists(
        select(DealStageChange.id)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(
            Deal.tenant_id == tenant_id,
            Deal.external_id == Conversation.deal_external_id,
            DealStageChange.changed_at > Conversation.occurred_at,
            DealStageChange.changed_at <= plus_days(Conversation.occurred_at, window, dialect),
        )
    )
    stage_known = and_(
        Conversation.deal_external_id.is_not(None),
        Conversation.occurred_at <= utcnow() - timedelta(days=window),
    )
    next_step = Conversation.metrics["next_step_agreed"].as_boolean()
    values: dict[str, ColumnElement[Any]] = {
        "objection_rate": _f(case((objections.c.cid.is_not(None), 1), else_=0)),
        **{f"objection_rate.{c}": _f(func.coalesce(objections.c[c], 0)) for c in CATEGORIES},
        "stage_advanced": _f(case((stage_known, case((advanced, 1), else_=0)), else_=None)),
        "next_step_agreed": _f(case((next_step.is_(True), 1), (next_step.is_(False), 0))),
        "rep_talk_ratio": Conversation.metrics["rep_talk_ratio"].as_float(),
        "question_rate": Conversation.metrics["rep_questions_per_min"].as_float(),
        "adherence": _f(adh.share),
    }
    base = (
        select(
            variant.label("variant"),
            cluster.label("cluster"),
            utc_date(Conversation.occurred_at, dialect).label("day"),
            case((adh.share >= exp.adherence_min_share, 1), else_=0).label("adherent"),
            *(expr.label(f"m{i}") for i, expr in enumerate(values.values())),
        )
        .select_from(Conversation)
        .outerjoin(exposure, and_(exposure.experiment_id == exp.id, exposure.unit_id == unit_col))
        .outerjoin(objections, objections.c.cid == Conversation.id)
        .outerjoin(adh, and_(adh.conversation_id == Conversation.id, adh.experiment_id == exp.id))
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.kind == "call",
            Conversation.analyzed_at.is_not(None),
            Conversation.occurred_at >= exp.started_at,
            Conversation.occurred_at < exp.stopped_at if exp.stopped_at else literal(True),
            or_(Conversation.playbook_experiment == exp.key, exposure.id.is_not(None)),
        )
        .subquery()
    )
    aggregates = []
    for i in range(len(values)):
        col = base.c[f"m{i}"]
        aggregates += [func.count(col), func.sum(col), func.sum(col * col)]
    keys = [v.key for v in loaded.variants]
    stmt = (
        select(base.c.variant, base.c.cluster, base.c.day, base.c.adherent, *aggregates)
        .where(base.c.variant.in_(keys))
        .group_by(base.c.variant, base.c.cluster, base.c.day, base.c.adherent)
    )
    names = list(values)
    out: list[GroupRow] = []
    for row in session.execute(stmt):
        stats = {
            name: (
                float(row[4 + 3 * i]),
                float(row[5 + 3 * i] or 0.0),
                float(row[6 + 3 * i] or 0.0),
            )
            for i, name in enumerate(names)
        }
        out.append(GroupRow(row[0], row[1], _as_date(row[2]), bool(row[3]), stats))
    return out


def deal_groups(session: Session, *, loaded: Loaded) -> list[GroupRow]:
    """Won rate of the experiment's deals closed since it started, summed per group."""
    exp = loaded.experiment
    dialect = session.get_bind().dialect.name
    exposure = aliased(ExperimentExposure)
    unit_col = {"rep": Deal.owner_external_id, "deal": Deal.external_id}.get(exp.unit)
    join_on = (
        and_(exposure.experiment_id == exp.id, exposure.unit_id == unit_col)
        if unit_col is not None
        else false()
    )
    variant = case(
        (Deal.playbook_experiment == exp.key, Deal.playbook_variant), else_=exposure.variant_key
    )
    cluster = Deal.owner_external_id if exp.unit == "rep" else null()
    won = _f(case((Deal.status == "won", 1), else_=0))
    base = (
        select(
            variant.label("variant"),
            cluster.label("cluster"),
            utc_date(Deal.closed_at, dialect).label("day"),
            won.label("won"),
        )
        .select_from(Deal)
        .outerjoin(exposure, join_on)
        .where(
            Deal.tenant_id == exp.tenant_id,
            Deal.status.in_(("won", "lost")),
            Deal.closed_at >= exp.started_at,
            or_(Deal.playbook_experiment == exp.key, exposure.id.is_not(None)),
        )
        .subquery()
    )
    keys = [v.key for v in loaded.variants]
    stmt = (
        select(
            base.c.variant,
            base.c.cluster,
            base.c.day,
            func.count(base.c.won),
            func.sum(base.c.won),
        )
        .where(base.c.variant.in_(keys))
        .group_by(base.c.variant, base.c.cluster, base.c.day)
    )
    return [
        GroupRow(
            r[0],
            r[1],
            _as_date(r[2]),
            False,
            {"won_rate": (float(r[3]), float(r[4] or 0), float(r[4] or 0))},
        )
        for r in session.execute(stmt)
    ]


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
        Conversation.tenant_id == exp.tenant_id,
        Conversation.playbook_experiment == exp.key,
        unit_col.is_not(None),
        Conversation.occurred_at >= exp.started_at,
    )
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
    stmt = (
        select(A.variant_key, func.count(), func.avg(A.share), *cols)
        .where(A.experiment_id == exp.id)
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
            .where(A.experiment_id == exp.id, A.variant_key == key)
            .order_by(A.created_at.desc(), A.id.desc())
            .limit(50)
        ).scalars()
        for evidence in recent:
            for i, item in enumerate(evidence[: len(usage.quotes)]):
                if usage.quotes[i] is None and item.get("said") and item.get("quote"):
                    usage.quotes[i] = str(item["quote"])
    return out
