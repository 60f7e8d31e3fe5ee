"""Fixed-horizon intervals: Wilson, Newcombe, Katz, Welch and delta-method ratios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


def z_value(level: float = 0.95) -> float:
    """The two-sided normal quantile for a confidence level."""
    return float(sps.norm.ppf(0.5 + level / 2.0))


@dataclass(frozen=True, slots=True)
class Interval:
    """Point estimates with lower and upper bounds (arrays of the same shape)."""

    estimate: Array
    lower: Array
    upper: Array


def _f(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def wilson(successes: ArrayLike, n: ArrayLike, *, level: float = 0.95) -> Interval:
    """Wilson score interval for a proportion; counts may be effective (non-integer) counts."""
    x, nn = _f(successes), _f(n)
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / nn
        denom = nn + z * z
        centre = (x + z * z / 2.0) / denom
        half = z * np.sqrt(np.clip(x * (nn - x) / nn, 0.0, None) + z * z / 4.0) / denom
    return Interval(p, centre - half, centre + half)


def newcombe_diff(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *, level: float = 0.95
) -> Interval:
    """Newcombe's hybrid score interval (his method 10) for p1 - p2 from two Wilson intervals."""
    a, b = wilson(x1, n1, level=level), wilson(x2, n2, level=level)
    d = a.estimate - b.estimate
    lower = d - np.sqrt((a.estimate - a.lower) ** 2 + (b.upper - b.estimate) ** 2)
    upper = d + np.sqrt((a.upper - a.estimate) ** 2 + (b.estimate - b.lower) ** 2)
    return Interval(d, lower, upper)


def katz_ratio(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *, level: float = 0.95
) -> Interval:
    """Katz log interval for the risk ratio p1 / p2 (undefined when either count is zero)."""
    a, na, b, nb = _f(x1), _f(n1), _f(x2), _f(n2)
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (a / na) / (b / nb)
        se = np.sqrt(1.0 / a - 1.0 / na + 1.0 / b - 1.0 / nb)
        bad = (a <= 0) | (b <= 0)
        log_r = np.log(ratio)
        lower = np.where(bad, np.nan, np.exp(log_r - z * se))
        upper = np.where(bad, np.nan, np.exp(log_r + z * se))
    return Interval(np.where(bad, np.nan, ratio), lower, upper)


def satterthwaite_df(v1: ArrayLike, df1: ArrayLike, v2: ArrayLike, df2: ArrayLike) -> Array:
    """Welch-Satterthwaite degrees of freedom of v1 + v2 (variances of two estimates)."""
    a, b, d1, d2 = _f(v1), _f(v2), _f(df1), _f(df2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((a + b) ** 2 / (a * a / d1 + b * b / d2), dtype=np.float64)


def diff_interval(
    m1: ArrayLike,
    v1: ArrayLike,
    df1: ArrayLike,
    m2: ArrayLike,
    v2: ArrayLike,
    df2: ArrayLike,
    *,
    level: float = 0.95,
) -> Interval:
    """Welch-type interval for m1 - m2 given each estimate's variance and degrees of freedom."""
    a, b = _f(m1), _f(m2)
    df = satterthwaite_df(v1, df1, v2, df2)
    with np.errstate(invalid="ignore"):
        t = sps.t.ppf(0.5 + level / 2.0, np.where(df > 0, df, np.nan))
        half = t * np.sqrt(_f(v1) + _f(v2))
    return Interval(a - b, a - b - half, a - b + half)


def welch(
    mean1: ArrayLike,
    var1: ArrayLike,
    n1: ArrayLike,
    mean2: ArrayLike,
    var2: ArrayLike,
    n2: ArrayLike,
    *,
    level: float = 0.95,
) -> Interval:
    """Welch's interval for mean1 - mean2 from sample means, sample variances and sizes."""
    na, nb = _f(n1), _f(n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return diff_interval(
            mean1, _f(var1) / na, na - 1.0, mean2, _f(var2) / nb, nb - 1.0, level=level
        )


def delta_ratio(
    m1: ArrayLike,
    v1: ArrayLike,
    df1: ArrayLike,
    m2: ArrayLike,
    v2: ArrayLike,
    df2: ArrayLike,
    *,
    level: float = 0.95,
) -> Interval:
    """Interval for m1 / m2 by the delta method on the log scale (positive means only)."""
    a, b = _f(m1), _f(m2)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (a <= 0) | (b <= 0)
        w1, w2 = _f(v1) / (a * a), _f(v2) / (b * b)
        df = satterthwaite_df(w1, df1, w2, df2)
        t = sps.t.ppf(0.5 + level / 2.0, np.where(df > 0, df, np.nan))
        se = np.sqrt(w1 + w2)
        log_r = np.log(np.where(bad, np.nan, a / b))
    return Interval(np.exp(log_r), np.exp(log_r - t * se), np.exp(log_r + t * se))
