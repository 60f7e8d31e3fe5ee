"""One metric, one variant against control: fixed-horizon intervals and the daily sequence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from service.experiments.stats.intervals import (
    Interval,
    delta_ratio,
    diff_interval,
    katz_ratio,
    newcombe_diff,
    satterthwaite_df,
    wilson,
)
from service.experiments.stats.moments import Moments
from service.experiments.stats.sequential import always_valid_p, confidence_sequence
from service.experiments.stats.tests_and_plans import n_per_arm_mean, n_per_arm_proportion

Array = npt.NDArray[np.float64]
Kind = Literal["proportion", "mean"]


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One variant's estimate as of the last look."""

    n: int
    clusters: int
    mean: float
    lower: float
    upper: float
    design_effect: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment minus control for one metric."""

    control: ArmSummary
    treatment: ArmSummary
    diff: tuple[float, float, float]  # estimate, fixed-horizon 95% interval
    ratio: tuple[float, float, float]
    sequence: tuple[float, float]  # the always-valid interval at the last look
    sequence_ratio: tuple[float, float]
    p_always_valid: float
    p_fixed: float
    daily_diff: Array  # (days,) estimates
    daily_lower: Array
    daily_upper: Array
    needed_per_arm: float  # fixed-horizon units per variant for the planned effect


def _last(a: Array) -> float:
    v = float(a.reshape(-1)[-1]) if a.size else math.nan
    return v


def effective_counts(mom: Moments, *, clustered: bool) -> tuple[Array, Array]:
    """(successes, n) for Wilson-type intervals: design-effect-adjusted when clustered.

    Clustered proportions use the effective sample size n / deff, with deff the ratio of the
    cluster-robust variance to the binomial one (Donner and Klar's adjustment).
    """
    p = mom.mean()
    if not clustered:
        return mom.s, mom.n
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = p * (1.0 - p) / mom.variance()
    n_eff = np.where(np.isfinite(n_eff) & (n_eff > 0), np.minimum(n_eff, mom.n), mom.n)
    return p * n_eff, n_eff


def _design_effect(mom: Moments) -> Array:
    """Cluster-robust variance over the binomial variance of a proportion."""
    p = mom.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(mom.variance() / (p * (1.0 - p) / mom.n), dtype=np.float64)


def arm_summary(mom: Moments, *, kind: Kind, clustered: bool, level: float = 0.95) -> ArmSummary:
    """The variant's mean and interval at the last look."""
    last = mom.at(mom.n.shape[-1] - 1)
    if kind == "proportion":
        x, n = effective_counts(last, clustered=clustered)
        iv = wilson(x, n, level=level)
        deff = _design_effect(last) if clustered else np.ones(1)
    else:
        zero = np.zeros_like(last.n)
        iv = diff_interval(last.mean(), last.variance(), last.df(), zero, zero, 1e12, level=level)
        deff = np.ones(1)
    return ArmSummary(
        n=int(_last(last.n)),
        clusters=int(_last(last.k)),
        mean=_last(iv.estimate),
        lower=_last(iv.lower),
        upper=_last(iv.upper),
        design_effect=_last(deff),
    )


def fixed_horizon(
    control: Moments, treatment: Moments, *, kind: Kind, clustered: bool, level: float = 0.95
) -> tuple[Interval, Interval, float]:
    """Difference and ratio intervals (treatment vs control) at every look, and the last p."""
    if kind == "proportion":
        xt, nt = effective_counts(treatment, clustered=clustered)
        xc, nc = effective_counts(control, clustered=clustered)
        diff = newcombe_diff(xt, nt, xc, nc, level=level)
        ratio = katz_ratio(xt, nt, xc, nc, level=level)
        vt = treatment.mean() * (1 - treatment.mean()) / nt
        vc = control.mean() * (1 - control.mean()) / nc
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (treatment.mean() - control.mean()) / np.sqrt(vt + vc)
        p = float(2 * sps.norm.sf(abs(_last(z)))) if np.isfinite(_last(z)) else 1.0
        return diff, ratio, p
    mt, vt, dft = treatment.mean(), treatment.variance(), treatment.df()
    mc, vc, dfc = control.mean(), control.variance(), control.df()
    diff = diff_interval(mt, vt, dft, mc, vc, dfc, level=level)
    ratio = delta_ratio(mt, vt, dft, mc, vc, dfc, level=level)
    df = _last(satterthwaite_df(vt, dft, vc, dfc))
    se = math.sqrt(_last(vt) + _last(vc)) if np.isfinite(_last(vt) + _last(vc)) else math.nan
    if not (se > 0 and df > 0):
        return diff, ratio, 1.0
    p = float(2 * sps.t.sf(abs(_last(diff.estimate)) / se, df))
    return diff, ratio, p


def compare(
    control: Moments,
    treatment: Moments,
    *,
    kind: Kind,
    clustered: bool,
    rho2: float,
    effect: float,
    alpha: float = 0.05,
) -> Comparison:
    """Everything the results page shows for one metric and one treatment variant."""
    level = 1.0 - alpha
    diff, ratio, p_fixed = fixed_horizon(
        control, treatment, kind=kind, clustered=clustered, level=level
    )
    mt, mc = treatment.mean(), control.mean()
    vt, vc = treatment.variance(), control.variance()
    units = treatment.k + control.k
    est = mt - mc
    var = vt + vc
    seq = confidence_sequence(est, var, units, rho2=rho2, alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_r = np.log(mt / mc)
        log_v = vt / (mt * mt) + vc / (mc * mc)
    seq_log = confidence_sequence(log_r, log_v, units, rho2=rho2, alpha=alpha)
    p_av = always_valid_p(est, var, units, rho2=rho2)
    c_sum = arm_summary(control, kind=kind, clustered=clustered, level=level)
    t_sum = arm_summary(treatment, kind=kind, clustered=clustered, level=level)
    if kind == "proportion":
        needed = n_per_arm_proportion(c_sum.mean, effect, alpha=alpha)
        deff = max(1.0, np.nan_to_num(c_sum.design_effect, nan=1.0)) if clustered else 1.0
        needed *= deff
    else:
        n_c = max(c_sum.n, 1)
        sd = math.sqrt(_last(vc) * n_c) if np.isfinite(_last(vc)) else math.nan
        needed = n_per_arm_mean(sd, effect, alpha=alpha)
    return Comparison(
        control=c_sum,
        treatment=t_sum,
        diff=(_last(diff.estimate), _last(diff.lower), _last(diff.upper)),
        ratio=(_last(ratio.estimate), _last(ratio.lower), _last(ratio.upper)),
        sequence=(_last(seq.lower), _last(seq.upper)),
        sequence_ratio=(float(np.exp(_last(seq_log.lower))), float(np.exp(_last(seq_log.upper)))),
        p_always_valid=_last(p_av) if p_av.size else 1.0,
        p_fixed=p_fixed,
        daily_diff=np.asarray(est, dtype=np.float64),
        daily_lower=np.asarray(seq.lower, dtype=np.float64),
        daily_upper=np.asarray(seq.upper, dtype=np.float64),
        needed_per_arm=float(needed),
    )
