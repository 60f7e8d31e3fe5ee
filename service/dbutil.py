"""Small dialect-aware query helpers (insert-or-ignore on SQLite and PostgreSQL alike)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(
    session: Session, model: Any, values: dict[str, Any], *, conflict: list[str]
) -> Any | None:
    """Insert a row unless it conflicts on the given unique columns; returns the new id or None."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        stmt = sqlite.insert(model)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database dialect {dialect}")
    stmt = stmt.values(**values).on_conflict_do_nothing(index_elements=conflict)
    return session.execute(stmt.returning(model.id)).scalar_one_or_none()
