"""Small query helpers: insert-or-ignore on SQLite and PostgreSQL alike, tenant-scoped lookups."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.errors import NotFound

T = TypeVar("T")


def tenant_row(
    session: Session, model: type[T], *, tenant_id: uuid.UUID, row_id: str | uuid.UUID, what: str
) -> T:
    """The tenant's row of model by id; other tenants' ids and malformed ids are 404 alike."""
    try:
        rid = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id)
    except ValueError:
        raise NotFound(f"no such {what}") from None
    m: Any = model
    row = session.execute(
        select(m).where(m.id == rid, m.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no such {what}")
    return row  # type: ignore[no-any-return]


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
