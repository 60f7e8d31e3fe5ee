"""SQL aggregation for experiment results: per variant, cluster, day and adherence, in the database.

Each metric comes back as (count, sum, sum of squares) per group, so the statistics never see
individual conversations; with randomisation by conversation the groups are (variant, day,
adherent) and stay few however many calls there are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Select,
    Uuid,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from models import (
    Conversation,
    ConversationAdherence,
    Deal,
    DealStageChange,
    Experiment,
    ExperimentExposure,
    Insight,
)
from models.base import utcnow
from nlp.objections import CATEGORIES
from service.experiments.service import Loaded

OBJECTION_BITS = {c: 1 << i for i, c in enumerate(CATEGORIES)}
OTHER_BIT = 1 << len(CATEGORIES)  # an objection whose label is not in the taxonomy


@dataclass(frozen=True, slots=True)
class Groups:
    """Grouped rows as columns: variant, cluster (None when randomised by conversation), day,
    adherent, and per metric an (n, 3) array of count, sum and sum of squares."""

    variant: list[str]
    cluster: list[str | None]
    day: list[date]
    adherent: npt.NDArray[np.bool_]
    stats: dict[str, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.variant)


def no_groups(names: list[str]) -> Groups:
    """Groups without rows."""
    return _columns([], names)


def _columns(rows: Sequence[Any], names: list[str], *, squares: bool = True) -> Groups:
    """Transpose result rows (variant, cluster, day, adherent, aggregates...) into Groups."""
    if not rows:
        empty = np.zeros((0, 3))
        return Groups([], [], [], np.zeros(0, dtype=bool), {n: empty for n in names})
    cols = list(zip(*rows, strict=True))
    days = {d: _as_date(d) for d in set(cols[2])}
    day = [days[d] for d in cols[2]]
    # None (a SUM over no values) becomes NaN, then zero: no observations, nothing summed.
    values = np.nan_to_num(np.array(cols[4:], dtype=np.float64))
    width = 3 if squares else 2
    stats = {}
    for i, name in enumerate(names):
        block = values[width * i : width * i + width].T
        # Without squares the sum stands in: exact for yes/no metrics, unused when clustered.
        stats[name] = block if squares else np.column_stack([block, block[:, 1]])
    return Groups(
        [str(v) for v in cols[0]],
        list(cols[1]),
        day,
        np.array(cols[3], dtype=bool),
        stats,
    )


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


def whole_tenant(tenant_id: uuid.UUID, dialect: str) -> ColumnElement[bool]:
    """The conversation rows of one tenant, read in the way that is fastest for most of them.

    On SQLite the (tenant, ...) indexes turn a read of most of the table into random page
    reads (measured about 6x slower than a plain scan at 100,000 calls); the unary plus keeps
    its planner off them. PostgreSQL's planner chooses for itself.
    """
    if dialect == "sqlite":
        return type_coerce(literal_column("+conversation.tenant_id"), Uuid) == tenant_id
    return Conversation.tenant_id == tenant_id


def before_stop(exp: Experiment) -> ColumnElement[bool]:
    """Calls before the experiment was stopped (all of them while it runs)."""
    if exp.stopped_at is None:
        return true()
    return Conversation.occurred_at < exp.stopped_at


def _f(expr: Any) -> ColumnElement[float]:
    return cast(expr, Float)


def call_select(session: Session, *, loaded: Loaded, metrics: Sequence[str]) -> Select[Any]:
    """One row per call of the experiment: variant, cluster, day, adherent, m0, m1, ..."""
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
    unscripted = [v.key for v in loaded.variants if not v.script] or ["\x00"]
    # One bit per category (and one for any other label): a single integer column carries
    # every category, however many the breakdown has, and numpy or SQL unpack it.
    # The mask is a sum of per-bit maxima rather than SUM(DISTINCT bit): no sort of every
    # objection row for the DISTINCT (results by deal over 100,000 calls: 1.07 -> 0.92 s, SQLite).
    bit_max = [
        func.max(case((Insight.label == c, bit), else_=0)) for c, bit in OBJECTION_BITS.items()
    ]
    other_max = func.max(case((Insight.label.in_(list(OBJECTION_BITS)), 0), else_=OTHER_BIT))
    mask: ColumnElement[Any] = bit_max[0]
    for term in [*bit_max[1:], other_max]:
        mask = mask + term
    if dialect == "postgresql":
        # PostgreSQL ORs the bits natively in one aggregate.
        label_bit = case(
            *((Insight.label == c, bit) for c, bit in OBJECTION_BITS.items()), else_=OTHER_BIT
        )
        mask = func.bit_or(label_bit)
    objections = (
        select(
            Insight.conversation_id.label("cid"),
            mask.label("mask"),
        )
        .where(
            Insight.tenant_id == tenant_id,
            Insight.kind == "objection",
            Insight.speaker == "customer",
        )
        .group_by(Insight.conversation_id)
        .subquery()
    )

    def has_bit(bit: int) -> ColumnElement[bool]:
        return objections.c.mask.op("&")(bit) != 0

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
    expressions: dict[str, Any] = {
        "objection_rate": lambda: _f(case((objections.c.cid.is_not(None), 1), else_=0)),
        **{
            f"objection_rate.{c}": (lambda c=c: _f(case((has_bit(OBJECTION_BITS[c]), 1), else_=0)))
            for c in CATEGORIES
        },
        "stage_advanced": lambda: _f(case((stage_known, case((advanced, 1), else_=0)), else_=None)),
        "next_step_agreed": lambda: _f(case((next_step.is_(True), 1), (next_step.is_(False), 0))),
        "rep_talk_ratio": lambda: Conversation.metrics["rep_talk_ratio"].as_float(),
        "question_rate": lambda: Conversation.metrics["rep_questions_per_min"].as_float(),
        "adherence": lambda: _f(adh.share),
    }
    has_objections = any(m.startswith("objection_rate") for m in metrics)
    # Only the metrics asked for: each one costs a column over every call.
    values: dict[str, ColumnElement[Any]] = {m: expressions[m]() for m in metrics}
    base = (
        select(
            variant.label("variant"),
            cluster.label("cluster"),
            utc_date(Conversation.occurred_at, dialect).label("day"),
            # A variant without key lines (often the control) has nothing to adhere to: per
            # protocol keeps all its calls.
            case(
                (variant.in_(unscripted), 1), (adh.share >= exp.adherence_min_share, 1), else_=0
            ).label("adherent"),
            *(expr.label(f"m{i}") for i, expr in enumerate(values.values())),
            *([objections.c.mask.label("objection_mask")] if has_objections else []),
        )
        .select_from(Conversation)
        .outerjoin(exposure, and_(exposure.experiment_id == exp.id, exposure.unit_id == unit_col))
        .outerjoin(adh, and_(adh.conversation_id == Conversation.id, adh.experiment_id == exp.id))
        .where(
            whole_tenant(tenant_id, dialect),
            Conversation.kind == "call",
            Conversation.analyzed_at.is_not(None),
            Conversation.occurred_at >= exp.started_at,
            before_stop(exp),
            or_(Conversation.playbook_experiment == exp.key, exposure.id.is_not(None)),
        )
    )
    if has_objections:
        base = base.outerjoin(objections, objections.c.cid == Conversation.id)
    return base


def call_values(session: Session, *, loaded: Loaded, metrics: Sequence[str]) -> CTE:
    """The experiment's calls (see call_select) as a CTE to aggregate over."""
    base = call_select(session, loaded=loaded, metrics=metrics)
    # Materialised once: otherwise each metric's JSON extraction runs again for its count, sum
    # and sum of squares (SQLite and PostgreSQL both inline a plain subquery).
    return base.cte("call_values").prefix_with("MATERIALIZED")


def conversation_groups(session: Session, *, loaded: Loaded, metrics: Sequence[str]) -> Groups:
    """The named conversation metrics of the experiment's calls, summed per group.

    Objection metrics are never summed one by one: the groups are split by the objection bit
    mask as well (a handful of distinct masks), and numpy reads every category off the mask.
    """
    exp = loaded.experiment
    objection = [m for m in metrics if m.startswith("objection_rate")]
    plain = [m for m in metrics if m not in objection]
    # One objection metric makes call_select add the mask column.
    sub = call_values(session, loaded=loaded, metrics=[*plain, *objection[:1]])
    # Clustered variances come from per-cluster sums, so sums of squares are only needed when
    # each call is its own unit.
    squares = exp.unit == "conversation"
    aggregates: list[Any] = []
    for i in range(len(plain)):
        col = sub.c[f"m{i}"]
        aggregates += [func.count(col), func.sum(col)]
        if squares:
            aggregates.append(func.sum(col * col))
    keys = [v.key for v in loaded.variants]
    by = [sub.c.variant, sub.c.cluster, sub.c.day, sub.c.adherent]
    if objection:
        by.append(sub.c.objection_mask)
        aggregates += [sub.c.objection_mask, func.count()]
    stmt = select(*by[:4], *aggregates).where(sub.c.variant.in_(keys)).group_by(*by)
    # Core execution on the session's connection: no ORM row processing for many groups.
    rows = session.connection().execute(stmt).all()
    if not rows:
        return no_groups(list(metrics))
    if not objection:
        return _columns(rows, plain, squares=squares)
    groups = _columns([r[:-2] for r in rows], plain, squares=squares)
    masks = np.array([r[-2] or 0 for r in rows], dtype=np.int64)
    calls = np.array([r[-1] for r in rows], dtype=np.float64)
    groups.stats.update(objection_stats(masks, calls, objection))
    return groups


def objection_stats(
    masks: npt.NDArray[np.int64], calls: npt.NDArray[np.float64], names: Sequence[str]
) -> dict[str, npt.NDArray[np.float64]]:
    """(count, sum, sum of squares) of objection metrics from groups of calls sharing a mask."""
    # Every call counts: no objection is a 0, never a missing value.
    out = {}
    for name in names:
        if name == "objection_rate":
            hit = masks != 0
        else:
            hit = (masks & OBJECTION_BITS[name.split(".", 1)[1]]) != 0
        total = np.where(hit, calls, 0.0)
        out[name] = np.column_stack([calls, total, total])
    return out


def deal_groups(session: Session, *, loaded: Loaded) -> Groups:
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
            Deal.closed_at < exp.stopped_at if exp.stopped_at else literal(True),
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
    rows = [(*r[:3], False, r[3], r[4]) for r in session.connection().execute(stmt)]
    return _columns(rows, ["won_rate"], squares=False)
