"""Cumulative daily moments per variant, and cluster-robust means and variances from them.

The estimator of a variant's mean is the ratio estimator r = sum(y) / n over all its
observations. Its variance is the cluster-robust (CR1-type, per variant) sandwich

    Var(r) = K / (K - 1) * sum_c (Y_c - r * M_c)^2 / n^2

where Y_c and M_c are the sum and the count of cluster c (a rep or a deal) and K the number of
clusters. When every observation is its own cluster this is s^2 / n, the usual variance of a
mean, so randomisation by conversation and by rep or deal share one code path. The sums
sum_c Y_c^2, sum_c Y_c M_c and sum_c M_c^2 are kept cumulatively per day, so the whole history
of a variant costs one pass over the grouped rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Moments:
    """Cumulative sums by day (arrays of equal shape, the last axis is the day)."""

    n: Array  # observations
    s: Array  # sum of y
    yy: Array  # sum over clusters of Y_c^2
    ym: Array  # sum over clusters of Y_c * M_c
    mm: Array  # sum over clusters of M_c^2
    k: Array  # clusters seen so far

    def mean(self) -> Array:
        """The ratio-estimator mean (NaN without observations)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.s / self.n, dtype=np.float64)

    def variance(self) -> Array:
        """Cluster-robust variance of the mean, with the K / (K - 1) small-sample factor."""
        r = self.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            resid = self.yy - 2.0 * r * self.ym + r * r * self.mm
            v = np.clip(resid, 0.0, None) / (self.n * self.n) * self.k / (self.k - 1.0)
        return np.asarray(np.where(self.k > 1, v, np.nan), dtype=np.float64)

    def df(self) -> Array:
        """Degrees of freedom of the variance: clusters minus one."""
        return np.asarray(self.k - 1.0, dtype=np.float64)

    def at(self, day: int) -> Moments:
        """The moments as of one day (keeps a length-1 last axis)."""
        sl = slice(day, day + 1)
        return Moments(
            self.n[..., sl],
            self.s[..., sl],
            self.yy[..., sl],
            self.ym[..., sl],
            self.mm[..., sl],
            self.k[..., sl],
        )


def _daily(day: IntArray, values: Array, n_days: int) -> Array:
    return np.cumsum(np.bincount(day, weights=values, minlength=n_days)[:n_days])


def iid_moments(
    day: npt.ArrayLike,
    count: npt.ArrayLike,
    total: npt.ArrayLike,
    squares: npt.ArrayLike,
    n_days: int,
) -> Moments:
    """Moments when each observation is its own cluster, from rows (day, n, sum y, sum y^2)."""
    d = np.asarray(day, dtype=np.int64)
    c = np.asarray(count, dtype=np.float64)
    t = np.asarray(total, dtype=np.float64)
    q = np.asarray(squares, dtype=np.float64)
    n = _daily(d, c, n_days)
    return Moments(
        n=n, s=_daily(d, t, n_days), yy=_daily(d, q, n_days), ym=_daily(d, t, n_days), mm=n, k=n
    )


def cluster_moments(
    cluster: npt.ArrayLike,
    day: npt.ArrayLike,
    count: npt.ArrayLike,
    total: npt.ArrayLike,
    n_days: int,
    *,
    presorted: bool = False,
) -> Moments:
    """Moments from rows (cluster index, day, n, sum y), one row per cluster and day or more.

    presorted: the rows are already ordered by cluster, then day (a subset of rows sorted once
    keeps that order, so several metrics can share one sort).
    """
    cl = np.asarray(cluster, dtype=np.int64)
    d = np.asarray(day, dtype=np.int64)
    m = np.asarray(count, dtype=np.float64)
    y = np.asarray(total, dtype=np.float64)
    keep = m > 0  # a cluster with no observation of this metric is not (yet) a cluster of it
    cl, d, m, y = cl[keep], d[keep], m[keep], y[keep]
    if cl.size == 0:
        z = np.zeros(n_days)
        return Moments(z, z, z, z, z, z)
    if not presorted:
        order = np.lexsort((d, cl))
        cl, d, m, y = cl[order], d[order], m[order], y[order]
    # Running sums within each cluster: a global cumsum minus the value where the cluster began.
    first = np.ones(cl.size, dtype=bool)
    first[1:] = cl[1:] != cl[:-1]
    starts = np.flatnonzero(first)
    run = np.repeat(np.arange(starts.size), np.diff(np.append(starts, cl.size)))

    def within(v: Array) -> tuple[Array, Array]:
        cum = np.cumsum(v)
        base = (cum - v)[starts][run]
        after = cum - base
        return after - v, after

    y0, y1 = within(y)
    m0, m1 = within(m)
    n = _daily(d, m, n_days)
    return Moments(
        n=n,
        s=_daily(d, y, n_days),
        yy=_daily(d, y1 * y1 - y0 * y0, n_days),
        ym=_daily(d, y1 * m1 - y0 * m0, n_days),
        mm=_daily(d, m1 * m1 - m0 * m0, n_days),
        k=_daily(d, first.astype(np.float64), n_days),
    )
