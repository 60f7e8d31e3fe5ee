"""Keeping trend_day in step with the insight table, incrementally and by a full rebuild.

Every analysis replaces a conversation's insights: its old contribution is subtracted and the
new one added in the same transaction, so the daily counts always equal a GROUP BY over the
insight table (tests/service/test_trends.py checks exactly that against rebuild()).
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from sqlalchemy import Date, String, cast, delete, func, insert, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Conversation, Insight, TrendDay

KEY = ["tenant_id", "kind", "day", "label", "context", "team"]
# Literal SQL, not bind parameters: PostgreSQL must see one expression in SELECT and GROUP BY.
EMPTY = literal_column("''", String)
OTHER = literal_column("'other'", String)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add hits/conversations to existing keys, insert the others (one statement)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    table: Any = TrendDay.__table__
    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = stmt.values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=KEY,
        set_={
            "hits": table.c.hits + stmt.excluded.hits,
            "conversations": table.c.conversations + stmt.excluded.conversations,
        },
    )
    session.execute(stmt)


def _context(kind: str, context: str | None) -> str:
    return (context or "other") if kind == "competitor" else ""


def apply_conversation(session: Session, *, conversation: Conversation, sign: int) -> None:
    """Add (+1) or take away (-1) a conversation and its stored insights in trend_day."""
    day = conversation.occurred_at.astimezone(UTC).date()
    team = conversation.team or ""
    counts = session.execute(
        select(Insight.kind, Insight.label, Insight.context, func.count())
        .where(Insight.conversation_id == conversation.id)
        .group_by(Insight.kind, Insight.label, Insight.context)
    ).all()
    merged: dict[tuple[str, str, str], int] = {}
    for kind, label, context, n in counts:
        key = (kind, label, _context(kind, context))
        merged[key] = merged.get(key, 0) + int(n)
    base = {"tenant_id": conversation.tenant_id, "day": day, "team": team}
    rows = [
        {**base, "kind": k, "label": lab, "context": ctx, "hits": sign * n, "conversations": sign}
        for (k, lab, ctx), n in merged.items()
    ]
    rows.append(
        {
            **base,
            "kind": "conversation",
            "label": "",
            "context": "",
            "hits": sign,
            "conversations": sign,
        }
    )
    _upsert(session, rows)


def day_expr(dialect: str, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, per dialect."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'UTC'", String), column), Date)
    return func.date(column, type_=Date)


def rebuild(session: Session, *, tenant_id: uuid.UUID) -> None:
    """Recompute a tenant's trend_day from the insight and conversation tables (set-based)."""
    dialect = session.get_bind().dialect.name
    session.execute(delete(TrendDay).where(TrendDay.tenant_id == tenant_id))
    i, c = Insight, Conversation
    i_day = day_expr(dialect, i.occurred_at)
    ctx = func.coalesce(i.context, OTHER)
    team = func.coalesce(i.team, EMPTY)
    for kind, context_col in (("objection", EMPTY), ("competitor", ctx)):
        q = (
            select(
                i.tenant_id,
                i.kind,
                i_day,
                i.label,
                context_col,
                team,
                func.count(),
                func.count(func.distinct(i.conversation_id)),
            )
            .where(i.tenant_id == tenant_id, i.kind == kind)
            # A bare constant may not appear in PostgreSQL's GROUP BY.
            .group_by(
                i.tenant_id, i.kind, i_day, i.label, *([ctx] if kind == "competitor" else []), team
            )
        )
        session.execute(
            insert(TrendDay).from_select(
                ["tenant_id", "kind", "day", "label", "context", "team", "hits", "conversations"],
                q,
            )
        )
    c_day = day_expr(dialect, c.occurred_at)
    c_team = func.coalesce(c.team, EMPTY)
    q = (
        select(
            c.tenant_id,
            literal_column("'conversation'", String),
            c_day,
            EMPTY,
            EMPTY,
            c_team,
            func.count(),
            func.count(),
        )
        .where(c.tenant_id == tenant_id, c.analyzed_at.is_not(None))
        .group_by(c.tenant_id, c_day, c_team)
    )
    session.execute(
        insert(TrendDay).from_select(
            ["tenant_id", "kind", "day", "label", "context", "team", "hits", "conversations"], q
        )
    )


def snapshot(session: Session, *, tenant_id: uuid.UUID) -> dict[tuple[Any, ...], tuple[int, int]]:
    """The tenant's non-zero trend_day rows (for comparing incremental against rebuilt)."""
    rows = session.execute(
        select(TrendDay).where(TrendDay.tenant_id == tenant_id, TrendDay.hits != 0)
    ).scalars()
    return {
        (r.kind, r.day, r.label, r.context, r.team): (
            r.hits,
            r.conversations,
        )
        for r in rows
    }
