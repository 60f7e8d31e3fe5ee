"""Clustered experiments: the within-cluster running sums computed in the database.

Randomised by rep or deal, the cluster-robust variance needs, for every day d, the sums over
clusters of Y_c(d)^2, Y_c(d) M_c(d) and M_c(d)^2, where Y_c(d) and M_c(d) are cluster c's
running sum and count up to day d. A window function gives each cluster's running sums per
day; what one (cluster, day) adds to the three sums is Y^2 - (Y - y)^2 and so on, and those
increments are summed per variant and day. The database returns one row per variant and day,
so the cost no longer grows with the number of deals in the response.

Not used by the results since the objection breakdown: reading the calls one by one and
summing in numpy (service/experiments/calls.py) measured faster on both databases. Kept as an
independent, in-database computation of the same moments that the tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from service.experiments.queries import _as_date, call_values
from service.experiments.service import Loaded
from service.experiments.stats.moments import Moments

ANALYSES = ("itt", "pp")
PARTS = 6  # n, s, yy, ym, mm, k per metric and analysis


@dataclass(frozen=True, slots=True)
class DailyMoments:
    """Per metric, analysis and variant: daily increments of the cluster moments."""

    increments: dict[tuple[str, str], npt.NDArray[np.float64]]  # (variants, days, PARTS)
    start: date
    clustered: bool = True

    def moments(self, metric: str, variant: int, *, per_protocol: bool, n_days: int) -> Moments:
        """Cumulative daily moments of one metric for one variant."""
        inc = self.increments.get((metric, "pp" if per_protocol else "itt"))
        if inc is None or inc.shape[1] == 0:
            z = np.zeros(n_days)
            return Moments(z, z, z, z, z, z)
        days = np.zeros((n_days, PARTS))
        width = min(n_days, inc.shape[1])
        days[:width] = inc[variant, :width]
        cum = np.cumsum(days, axis=0)
        return Moments(*(cum[:, i] for i in range(PARTS)))


def cluster_daily(
    session: Session, *, loaded: Loaded, metrics: Sequence[str], start: date
) -> DailyMoments:
    """Daily increments of the cluster moments per metric, intention to treat and per protocol."""
    sub = call_values(session, loaded=loaded, metrics=metrics)
    keys = [v.key for v in loaded.variants]
    per_cluster_day: list[Any] = []
    for i in range(len(metrics)):
        m = sub.c[f"m{i}"]
        for a in ANALYSES:
            kept = true() if a == "itt" else sub.c.adherent == 1
            per_cluster_day += [
                func.count(case((kept, m))).label(f"n{i}{a}"),
                func.coalesce(func.sum(case((kept, m))), 0.0).label(f"s{i}{a}"),
            ]
    cd = (
        select(sub.c.variant, sub.c.cluster, sub.c.day, *per_cluster_day)
        .where(sub.c.variant.in_(keys))
        .group_by(sub.c.variant, sub.c.cluster, sub.c.day)
        .subquery("cluster_day")
    )
    by_cluster = [cd.c.variant, cd.c.cluster]
    running: list[Any] = []
    for i in range(len(metrics)):
        for a in ANALYSES:
            n, s = cd.c[f"n{i}{a}"], cd.c[f"s{i}{a}"]
            running += [
                n,
                s,
                func.sum(n).over(partition_by=by_cluster, order_by=cd.c.day).label(f"run_n{i}{a}"),
                func.sum(s).over(partition_by=by_cluster, order_by=cd.c.day).label(f"run_s{i}{a}"),
            ]
    # Labels differ in more than case: SQLite's column names are case-insensitive.
    cum = select(cd.c.variant, cd.c.day, *running).subquery("cluster_running")
    out: list[Any] = []
    for i in range(len(metrics)):
        for a in ANALYSES:
            n, s = cum.c[f"n{i}{a}"], cum.c[f"s{i}{a}"]
            big_n, big_s = cum.c[f"run_n{i}{a}"], cum.c[f"run_s{i}{a}"]
            out += [
                func.sum(n),
                func.sum(s),
                func.sum(big_s * big_s - (big_s - s) * (big_s - s)),
                func.sum(big_s * big_n - (big_s - s) * (big_n - n)),
                func.sum(big_n * big_n - (big_n - n) * (big_n - n)),
                # A cluster joins the metric on the first day it has an observation of it.
                func.sum(case(((big_n == n) & (n > 0), 1), else_=0)),
            ]
    stmt = select(cum.c.variant, cum.c.day, *out).group_by(cum.c.variant, cum.c.day)
    rows = session.connection().execute(stmt).all()
    index = {k: i for i, k in enumerate(keys)}
    days = [(_as_date(r[1]) - start).days for r in rows]
    n_days = max([d + 1 for d in days if d >= 0], default=0)
    values = np.nan_to_num(np.array([r[2:] for r in rows], dtype=np.float64)).reshape(
        len(rows), len(metrics), len(ANALYSES), PARTS
    )
    increments: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    for mi, name in enumerate(metrics):
        for ai, a in enumerate(ANALYSES):
            arr = np.zeros((len(keys), n_days, PARTS))
            for r, (row, d) in enumerate(zip(rows, days, strict=True)):
                if 0 <= d < n_days:
                    arr[index[row[0]], d] += values[r, mi, ai]
            increments[(name, a)] = arr
    return DailyMoments(increments, start)
