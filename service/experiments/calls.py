"""Experiment calls one by one, for randomisation by rep or deal: numpy keeps the cluster sums."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.experiments.queries import (
    Groups,
    _as_date,
    call_select,
    no_groups,
    objection_stats,
)
from service.experiments.service import Loaded


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk read builds its row tuples.

    100,000 rows of plain scalars contain no cycles, yet allocating them sets off repeated
    collections (measured 0.1-0.15 s of the read on PostgreSQL). The pause is process-wide
    but lasts only for the fetch and the transpose.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def conversation_calls(session: Session, *, loaded: Loaded, metrics: Sequence[str]) -> Groups:
    """The named metrics call by call, each call a group of its own (count 0 or 1, value).

    Randomised by deal, a deal rarely has two calls on one day, so grouping by (deal, day)
    returns about as many rows as there are calls and only adds a sort: here the rows come
    straight from the scan and numpy does the rest (cluster_moments accepts several rows per
    cluster and day).
    """
    objection = [m for m in metrics if m.startswith("objection_rate")]
    plain = [m for m in metrics if m not in objection]
    # Objection metrics come from the one mask column (one of them makes call_select add it).
    base = call_select(session, loaded=loaded, metrics=[*plain, *objection[:1]]).subquery("calls")
    keys = [v.key for v in loaded.variants]
    cols = [base.c[f"m{i}"] for i in range(len(plain))]
    if objection:
        cols.append(base.c.objection_mask)
    stmt = select(base.c.variant, base.c.cluster, base.c.day, base.c.adherent, *cols).where(
        base.c.variant.in_(keys)
    )
    with collector_paused():
        result = session.connection().execute(stmt)
        # Plain DBAPI tuples: about as many rows as calls, and no column here needs
        # SQLAlchemy's result processing (strings, numbers, dates that _as_date reads anyway).
        rows = result.cursor.fetchall() if result.cursor is not None else []
        result.close()
        head = list(zip(*rows, strict=True))
        del rows
    if not head:
        return no_groups(list(metrics))
    n_rows = len(head[0])
    # NULL (no observation of the metric on this call) becomes NaN in the conversion.
    values = np.array(head[4:], dtype=np.float64).reshape(len(cols), n_rows)
    days = {d: _as_date(d) for d in set(head[2])}
    stats = {}
    for name, v in zip(plain, values, strict=False):
        seen = ~np.isnan(v)
        total = np.where(seen, v, 0.0)
        stats[name] = np.column_stack([seen, total, total * total])
    if objection:
        mask = np.nan_to_num(values[-1]).astype(np.int64)
        stats.update(objection_stats(mask, np.ones(n_rows), objection))
    return Groups(
        [str(v) for v in head[0]],
        list(head[1]),
        [days[d] for d in head[2]],
        np.array(head[3], dtype=bool),
        stats,
    )
