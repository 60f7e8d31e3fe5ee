"""The trend queries: one builder, with the time bucket written per dialect, grouped in SQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, DateTime, String, cast, func, literal_column, select
from sqlalchemy.orm import Session

from models import Conversation, Deal, Insight, TrendDay
from service.trends.params import Interval, TrendFilters

# A literal, not a bind parameter: PostgreSQL must see one expression in SELECT and GROUP BY.
OTHER = literal_column("'other'", String)

_SQLITE_BUCKET: dict[str, tuple[str, str, str | None]] = {
    "day": ("strftime", "'%Y-%m-%d'", None),
    "week": ("date", "'weekday 0'", "'-6 days'"),  # the Monday on or before the day
    "month": ("strftime", "'%Y-%m-01'", None),
}


def bucket_expr(dialect: str, column: Any, interval: Interval) -> ColumnElement[str]:
    """The UTC bucket of a timestamp column as 'YYYY-MM-DD' (its first day), per dialect.

    Constants are literal SQL (the interval is validated), so PostgreSQL sees the same
    expression in SELECT and GROUP BY rather than two different bind parameters.
    """
    if dialect == "sqlite":
        name, a, b = _SQLITE_BUCKET[interval]
        if name == "strftime":
            return func.strftime(literal_column(a), column, type_=String)
        return func.date(column, literal_column(a), literal_column(b or ""), type_=String)
    if dialect == "postgresql":
        truncated = func.date_trunc(
            literal_column(f"'{interval}'"), func.timezone(literal_column("'UTC'"), column)
        )
        return func.to_char(truncated, literal_column("'YYYY-MM-DD'"), type_=String)
    raise RuntimeError(f"unsupported database dialect {dialect}")  # pragma: no cover


def late(column: Any) -> Any:
    """A column wrapped so no index serves a range on it (see service.deals.facts.late)."""
    return func.coalesce(column, column)


def _stage_deals(tenant_id: uuid.UUID, stage: str) -> Any:
    return select(Deal.external_id).where(Deal.tenant_id == tenant_id, Deal.stage == stage)


def insight_conditions(
    *, tenant_id: uuid.UUID, kind: str, f: TrendFilters, dialect: str = "sqlite"
) -> list[ColumnElement[bool]]:
    """Which insights a trend or evidence query counts."""
    i = Insight
    # With a deal or stage filter the per-deal index is the way in on SQLite: a time range on
    # the plain column tempts it (without statistics) into reading the whole tenant's window.
    # PostgreSQL chooses well from its statistics.
    by_deal = (f.deal is not None or f.stage is not None) and dialect == "sqlite"
    when = late(i.occurred_at) if by_deal else i.occurred_at
    conds: list[ColumnElement[bool]] = [
        i.tenant_id == tenant_id,
        i.kind == kind,
        when >= f.start,
        when < f.end,
    ]
    if f.label is not None:
        conds.append(i.label == f.label)
    if f.context is not None:
        conds.append(func.coalesce(i.context, OTHER) == f.context)
    if f.team is not None:
        conds.append(i.team == f.team)
    if f.rep is not None:
        conds.append(i.rep_external_id == f.rep)
    if f.deal is not None:
        conds.append(i.deal_external_id == f.deal)
    if f.stage is not None:
        conds.append(i.deal_external_id.in_(_stage_deals(tenant_id, f.stage)))
    return conds


def insight_counts(
    session: Session, *, tenant_id: uuid.UUID, kind: str, f: TrendFilters, by_context: bool
) -> list[tuple[str, str, str | None, int, int]]:
    """(bucket, label, context, insights, conversations with one) per bucket and label."""
    i = Insight
    dialect = session.get_bind().dialect.name
    bucket = bucket_expr(dialect, i.occurred_at, f.interval).label("bucket")
    context = func.coalesce(i.context, OTHER) if by_context else literal_column("NULL")
    cols = [bucket, i.label, context.label("context")]
    group = [bucket, i.label] + ([context] if by_context else [])
    q = (
        select(*cols, func.count(), func.count(func.distinct(i.conversation_id)))
        .where(*insight_conditions(tenant_id=tenant_id, kind=kind, f=f, dialect=dialect))
        .group_by(*group)
    )
    return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in session.execute(q)]


def conversation_counts(
    session: Session, *, tenant_id: uuid.UUID, f: TrendFilters
) -> dict[str, int]:
    """Analysed conversations per bucket under the same filters: the rates' denominators."""
    c = Conversation
    dialect = session.get_bind().dialect.name
    bucket = bucket_expr(dialect, c.occurred_at, f.interval).label("bucket")
    conds: list[ColumnElement[bool]] = [
        c.tenant_id == tenant_id,
        c.analyzed_at.is_not(None),
        c.occurred_at >= f.start,
        c.occurred_at < f.end,
    ]
    if f.team is not None:
        conds.append(c.team == f.team)
    if f.rep is not None:
        conds.append(c.rep_external_id == f.rep)
    if f.deal is not None:
        conds.append(c.deal_external_id == f.deal)
    if f.stage is not None:
        conds.append(c.deal_external_id.in_(_stage_deals(tenant_id, f.stage)))
    q = select(bucket, func.count()).where(*conds).group_by(bucket)
    return {b: int(n) for b, n in session.execute(q)}


def day_bucket_expr(dialect: str, column: Any, interval: Interval) -> ColumnElement[str]:
    """The bucket of a DATE column as 'YYYY-MM-DD' (SQLite keeps dates as ISO text)."""
    if dialect == "postgresql":
        truncated = func.date_trunc(literal_column(f"'{interval}'"), cast(column, DateTime))
        return func.to_char(truncated, literal_column("'YYYY-MM-DD'"), type_=String)
    return bucket_expr(dialect, column, interval)


def _rollup_conds(tenant_id: uuid.UUID, kind: str, f: TrendFilters) -> list[ColumnElement[bool]]:
    t = TrendDay
    conds: list[ColumnElement[bool]] = [
        t.tenant_id == tenant_id,
        t.kind == kind,
        t.day >= f.start.date(),
        t.day < f.end.date(),
    ]
    if f.team is not None:
        conds.append(t.team == f.team)
    return conds


def rollup_counts(
    session: Session, *, tenant_id: uuid.UUID, kind: str, f: TrendFilters, by_context: bool
) -> list[tuple[str, str, str | None, int, int]]:
    """The same rows as insight_counts, summed from trend_day."""
    t = TrendDay
    dialect = session.get_bind().dialect.name
    bucket = day_bucket_expr(dialect, t.day, f.interval).label("bucket")
    conds = _rollup_conds(tenant_id, kind, f)
    if f.label is not None:
        conds.append(t.label == f.label)
    if f.context is not None:
        conds.append(t.context == f.context)
    group: list[Any] = [bucket, t.label] + ([t.context] if by_context else [])
    q = (
        select(
            bucket,
            t.label,
            t.context if by_context else literal_column("NULL"),
            func.sum(t.hits),
            func.sum(t.conversations),
        )
        .where(*conds)
        .group_by(*group)
        .having(func.sum(t.hits) != 0)
    )
    return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in session.execute(q)]


def rollup_conversations(
    session: Session, *, tenant_id: uuid.UUID, f: TrendFilters
) -> dict[str, int]:
    """Analysed conversations per bucket, summed from trend_day."""
    t = TrendDay
    dialect = session.get_bind().dialect.name
    bucket = day_bucket_expr(dialect, t.day, f.interval).label("bucket")
    q = (
        select(bucket, func.sum(t.hits))
        .where(*_rollup_conds(tenant_id, "conversation", f))
        .group_by(bucket)
    )
    return {b: int(n) for b, n in session.execute(q) if n}
