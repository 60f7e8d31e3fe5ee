"""Always-valid confidence sequences for a difference (or log ratio), safe under daily peeking.

We use the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas
("Time-uniform central limit theory and asymptotic confidence sequences", 2021/2023): the
normal-mixture (Robbins) boundary applied to an estimate whose variance is estimated from the
data. With estimate d_t, its variance V_t and t independent units (conversations, or clusters
when randomised by rep or deal), the 1 - alpha sequence is

    d_t +/- sqrt(V_t) * sqrt((1 + t rho^2) / (t rho^2) * log((1 + t rho^2) / alpha^2))

which holds simultaneously for every t with probability about 1 - alpha: looking every day
does not inflate the error rate. It is the mixture SPRT of a normal likelihood ratio with a
N(0, rho^2)-mixture over the effect, written in the estimate's own units.

Tuning: rho^2 = c / t_plan with c = 2 log(1/alpha) + log(1 + 2 log(1/alpha)), which makes the
boundary tightest near t_plan units (Howard et al. 2021, section 3.5). The plan only moves
where the sequence is narrowest; validity does not depend on it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from service.experiments.stats.intervals import Interval

Array = npt.NDArray[np.float64]


def mixture_rho2(planned_units: float, *, alpha: float = 0.05) -> float:
    """The mixture variance (per unit) that makes the boundary tightest at planned_units."""
    two_log = 2.0 * math.log(1.0 / alpha)
    return (two_log + math.log1p(two_log)) / max(planned_units, 1.0)


def boundary_factor(units: npt.ArrayLike, rho2: float, *, alpha: float = 0.05) -> Array:
    """How many standard errors the sequence extends on each side after `units` units."""
    c = np.asarray(units, dtype=np.float64) * rho2
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.sqrt((1.0 + c) / c * np.log((1.0 + c) / (alpha * alpha)))
    return np.asarray(np.where(c > 0, f, np.inf), dtype=np.float64)


def confidence_sequence(
    estimate: npt.ArrayLike,
    variance: npt.ArrayLike,
    units: npt.ArrayLike,
    *,
    rho2: float,
    alpha: float = 0.05,
) -> Interval:
    """The always-valid interval for each look (arrays broadcast; NaN variance gives NaN)."""
    d = np.asarray(estimate, dtype=np.float64)
    half = boundary_factor(units, rho2, alpha=alpha) * np.sqrt(np.asarray(variance, dtype=float))
    return Interval(d, d - half, d + half)


def always_valid_p(
    estimate: npt.ArrayLike, variance: npt.ArrayLike, units: npt.ArrayLike, *, rho2: float
) -> Array:
    """The anytime-valid p-value 1 / (mixture likelihood ratio) for 'no difference', per look.

    p_t <= alpha exactly when the 1 - alpha sequence at look t excludes zero; taking the running
    minimum over looks keeps it valid.
    """
    d = np.asarray(estimate, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    c = np.asarray(units, dtype=np.float64) * rho2
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z2 = d * d / v
        log_lr = 0.5 * (c / (1.0 + c)) * z2 - 0.5 * np.log1p(c)
        p = np.minimum(1.0, np.exp(-log_lr))
    return np.asarray(np.where(np.isfinite(p), p, 1.0), dtype=np.float64)
