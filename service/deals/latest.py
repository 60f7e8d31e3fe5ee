"""Query helpers for the per-deal facts: index-proof conditions, IN-list chunks, latest rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from models import Insight, TranscriptSegment

# Deals go into IN lists in chunks: well under every database's bind-parameter limit.
CHUNK = 900


def late(column: Any) -> Any:
    """A column wrapped so no index serves a range on it.

    Without ANALYZE statistics SQLite prefers a (tenant, kind, time) range to the per-deal
    indexes and reads a whole tenant's recent rows for one deal; a time (or status) condition
    on this wrapper is applied after the per-deal index lookup instead, on every database.
    """
    return func.coalesce(column, column)


def chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """External ids in IN-list sized pieces."""
    unique = sorted(set(ids))
    for k in range(0, len(unique), CHUNK):
        yield unique[k : k + CHUNK]


def utc(value: Any) -> datetime | None:
    """A max() over a UTC column comes back raw from some drivers: make it aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns aggregates of a TypeDecorator as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def quote_columns(i: Any = Insight) -> list[Any]:
    """The insight columns a facts.Quote is read from (facts.quote_of)."""
    return [i.id, i.conversation_id, i.occurred_at, i.quote, i.speaker, i.start_s, i.end_s]


def latest_rows(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    grouped: Any,
    extra: Callable[[Any], list[ColumnElement[bool]]] | None = None,
    with_rep_answer: bool = False,
    deals: Sequence[str] | None = None,
) -> dict[tuple[str, str], Any]:
    """The latest insight of each (deal, label) group with the group's figures, as plain rows.

    On SQLite a correlated ORDER BY ... LIMIT 1 per group picks it from the (tenant, deal, kind,
    label, occurred_at) index whatever the planner's statistics (a join on the group's max time
    let SQLite without ANALYZE scan every insight of the kind); then primary-key lookups.
    deals, the external ids the groups were taken from, narrows PostgreSQL's join side too.
    """
    i, i2 = Insight, aliased(Insight)
    latest_id = (
        select(i2.id)
        .where(
            i2.tenant_id == tenant_id,
            i2.deal_external_id == grouped.c.deal,
            i2.kind == kind,
            i2.label == grouped.c.label,
            i2.speaker != "rep",
            *(extra(i2) if extra is not None else ()),
        )
        .order_by(i2.occurred_at.desc(), i2.utterance.desc(), i2.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    figures = [c for c in grouped.c if c.name not in ("deal", "label")]
    cols: list[Any] = [
        *quote_columns(i),
        i.deal_external_id.label("deal"),
        i.label,
        i.utterance,
        i.context,
    ]
    if with_rep_answer:
        rep_turn_after = exists().where(
            TranscriptSegment.conversation_id == i.conversation_id,
            TranscriptSegment.speaker == "rep",
            TranscriptSegment.idx > func.coalesce(i.utterance, -1),
        )
        cols.append(rep_turn_after.label("rep_after"))
    best: dict[tuple[str, str], Any] = {}
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL plans the join on the group's latest time well from its statistics, and
        # a correlated subquery per group costs it a fraction of a millisecond each.
        q = (
            select(*cols, *figures)
            .join(
                grouped,
                and_(
                    i.deal_external_id == grouped.c.deal,
                    i.label == grouped.c.label,
                    i.occurred_at == grouped.c.last_at,
                ),
            )
            .where(
                i.tenant_id == tenant_id,
                i.kind == kind,
                i.speaker != "rep",
                *(extra(i) if extra is not None else ()),
            )
        )
        if deals is not None:
            # Without the list PostgreSQL misjudges the join as one row and hashes it against
            # a parallel scan of the whole table (130 ms for 50 deals); with it, 50 ms.
            q = q.where(i.deal_external_id.in_(deals))
        for row in session.execute(q):
            key = (row.deal, row.label)
            old = best.get(key)
            if old is None or (row.utterance or 0, row.id) > (old.utterance or 0, old.id):
                best[key] = row
        return best
    picked = session.execute(select(grouped.c.deal, grouped.c.label, latest_id, *figures)).all()
    by_id = {row[2]: row for row in picked if row[2] is not None}
    ids = list(by_id)
    for k in range(0, len(ids), CHUNK):
        for row in session.execute(select(*cols).where(i.id.in_(ids[k : k + CHUNK]))):
            group = by_id[row.id]
            best[(row.deal, row.label)] = _Latest(
                row, dict(zip([c.name for c in figures], group[3:], strict=True))
            )
    return best


class _Latest:
    """An insight row plus its group's figures, read by attribute like a row."""

    def __init__(self, row: Any, figures: dict[str, Any]) -> None:
        self._row = row
        self._figures = figures
        self._mapping = {**row._mapping, **figures}

    def __getattr__(self, name: str) -> Any:
        if name in self._figures:
            return self._figures[name]
        return getattr(self._row, name)
