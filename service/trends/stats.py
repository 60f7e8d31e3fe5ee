"""Intervals for rates: exact Poisson (Garwood) per conversation, Wilson for shares."""

from __future__ import annotations

import math

from scipy.special import gammaincinv

Z95 = 1.959963984540054  # the 97.5% point of the standard normal


def poisson_rate_interval(count: int, exposure: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a rate count/exposure; (0, 0) when there is no exposure.

    Lower = Gamma^-1(alpha/2; count) / exposure and upper = Gamma^-1(1 - alpha/2; count + 1) /
    exposure: the chi-square form of the exact Poisson interval, written with gamma quantiles.
    """
    if exposure <= 0:
        return 0.0, 0.0
    low = 0.0 if count == 0 else float(gammaincinv(count, alpha / 2))
    high = float(gammaincinv(count + 1, 1 - alpha / 2))
    return low / exposure, high / exposure


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 0) when there are no trials."""
    if trials <= 0:
        return 0.0, 0.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
