"""Holm's step-down correction, the sample-ratio-mismatch test, and sample sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> tuple[list[float], list[bool]]:
    """Holm-adjusted p-values and which hypotheses are rejected at family-wise level alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return [], []
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, p[order] * (m - np.arange(m)))
    adjusted_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(a) for a in adjusted], [bool(a <= alpha) for a in adjusted]


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Observed units per variant against the configured weights."""

    observed: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    mismatch: bool


def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], *, threshold: float = 0.001
) -> SrmResult:
    """Pearson's chi-square goodness of fit; a p-value under threshold flags a broken split."""
    obs = np.asarray(observed, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    total = float(obs.sum())
    expected = w / w.sum() * total
    if total <= 0 or obs.size < 2:
        return SrmResult([int(o) for o in obs], [float(e) for e in expected], 0.0, 1.0, False)
    chi2, p = sps.chisquare(obs, expected)
    return SrmResult(
        [int(o) for o in obs], [float(e) for e in expected], float(chi2), float(p), p < threshold
    )


def _z(q: float) -> float:
    return float(sps.norm.ppf(q))


def n_per_arm_proportion(
    p_control: float, effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Units per variant for a two-sided two-proportion test to detect p_control + effect."""
    p1 = min(max(p_control, 1e-6), 1 - 1e-6)
    p2 = min(max(p1 + effect, 1e-6), 1 - 1e-6)
    if abs(p2 - p1) < 1e-12:
        return math.inf
    pbar = (p1 + p2) / 2.0
    a = _z(1 - alpha / 2) * math.sqrt(2 * pbar * (1 - pbar))
    b = _z(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (a + b) ** 2 / (p2 - p1) ** 2


def n_per_arm_mean(sd: float, effect: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per variant for a two-sided two-sample comparison of means to detect effect."""
    if effect == 0 or not math.isfinite(sd):
        return math.inf
    return 2.0 * (sd * (_z(1 - alpha / 2) + _z(power))) ** 2 / effect**2
