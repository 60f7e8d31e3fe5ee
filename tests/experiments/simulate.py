"""Simulated experiments with a known truth, vectorised over many experiments at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.experiments.stats.moments import Moments

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Design:
    """How the simulated experiments are run."""

    sims: int = 2000
    days: int = 30
    calls_per_day: float = 20.0  # per variant (iid) or per rep (clustered, Poisson mean)
    reps_per_arm: int = 0  # 0: randomised by conversation; otherwise by rep
    # Between-rep spread: for yes/no metrics sqrt(intra-rep correlation), else the standard
    # deviation of the reps' own means in metric units.
    rep_sd: float = 0.0


def _iid_moments(y_daily_sum: Array, y_daily_sq: Array, n_daily: Array) -> Moments:
    n = np.cumsum(n_daily, axis=-1)
    s = np.cumsum(y_daily_sum, axis=-1)
    return Moments(n=n, s=s, yy=np.cumsum(y_daily_sq, axis=-1), ym=s, mm=n, k=n)


def _cluster_moments(y: Array, m: Array) -> Moments:
    """y, m: (sims, days, clusters) daily sums and counts -> cumulative cluster moments."""
    yc = np.cumsum(y, axis=1)
    mc = np.cumsum(m, axis=1)
    seen = (mc > 0).sum(axis=2).astype(np.float64)
    return Moments(
        n=mc.sum(axis=2),
        s=yc.sum(axis=2),
        yy=(yc * yc).sum(axis=2),
        ym=(yc * mc).sum(axis=2),
        mm=(mc * mc).sum(axis=2),
        k=seen,
    )


def proportion_arm(rng: np.random.Generator, design: Design, p: float) -> Moments:
    """One variant's daily cumulative moments for a yes/no metric with true rate p."""
    shape = (design.sims, design.days)
    if design.reps_per_arm == 0:
        n = np.full(shape, design.calls_per_day)
        x = rng.binomial(n.astype(np.int64), p).astype(np.float64)
        return _iid_moments(x, x, n)
    r = design.reps_per_arm
    # Each rep's own rate is drawn from a beta distribution with mean p: the intra-rep
    # correlation is 1 / (phi + 1), and the variant's true rate is exactly p.
    phi = 1.0 / design.rep_sd**2 - 1.0 if design.rep_sd > 0 else 1e9
    rates = rng.beta(p * phi, (1 - p) * phi, (design.sims, 1, r))
    m = rng.poisson(design.calls_per_day, (design.sims, design.days, r)).astype(np.float64)
    y = rng.binomial(m.astype(np.int64), np.broadcast_to(rates, m.shape)).astype(np.float64)
    return _cluster_moments(y, m)


def mean_arm(rng: np.random.Generator, design: Design, mu: float, sd: float) -> Moments:
    """One variant's moments for a skewed continuous metric (gamma) with true mean mu."""
    shape = (design.sims, design.days)
    k = (mu / sd) ** 2
    theta = sd * sd / mu
    if design.reps_per_arm == 0:
        calls = int(design.calls_per_day)
        obs = rng.gamma(k, theta, (*shape, calls))
        n = np.full(shape, float(calls))
        return _iid_moments(obs.sum(axis=2), (obs * obs).sum(axis=2), n)
    r = design.reps_per_arm
    u = rng.normal(0.0, design.rep_sd, (design.sims, 1, r))
    m = rng.poisson(design.calls_per_day, (design.sims, design.days, r)).astype(np.float64)
    # The sum of m gamma(k, theta) draws is gamma(m k, theta): no per-call loop needed.
    base = rng.gamma(np.where(m > 0, m * k, 1.0), theta) * (m > 0)
    y = base + m * u
    return _cluster_moments(y, m)
