"""Simulations with a known truth: peeking every day keeps the false-positive rate at 5%, and
intervals cover a real effect about 95% of the time, rep clustering included.

Every bound is the nominal rate plus three binomial standard errors of the simulated rate, so
a correct method fails a run with probability well under 1%, and the seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from service.experiments.stats.compare import fixed_horizon
from service.experiments.stats.moments import Moments
from service.experiments.stats.sequential import confidence_sequence, mixture_rho2
from tests.experiments.simulate import Design, mean_arm, proportion_arm

ALPHA = 0.05


def slack(rate: float, sims: int) -> float:
    """Three binomial standard errors of a rate estimated from `sims` simulations."""
    return 3.0 * math.sqrt(rate * (1.0 - rate) / sims)


def arms(design: Design, kind: str, effect: float, seed: int) -> tuple[Moments, Moments]:
    rng = np.random.default_rng(seed)
    if kind == "proportion":
        return proportion_arm(rng, design, 0.30), proportion_arm(rng, design, 0.30 + effect)
    return mean_arm(rng, design, 0.50, 0.25), mean_arm(rng, design, 0.50 + effect, 0.25)


def ever_excludes(control: Moments, treatment: Moments, truth: float) -> float:
    """Share of experiments whose always-valid sequence excluded the truth on any day."""
    units = control.k + treatment.k
    rho2 = mixture_rho2(float(np.median(units[:, -1])))
    cs = confidence_sequence(
        treatment.mean() - control.mean(),
        treatment.variance() + control.variance(),
        units,
        rho2=rho2,
    )
    missed = np.nan_to_num((cs.lower > truth) | (cs.upper < truth), nan=0.0).astype(bool)
    return float(missed.any(axis=1).mean())


def naive_daily_peeking(control: Moments, treatment: Moments) -> float:
    """Share declared 'significant' on some day by a fixed-horizon interval read daily."""
    diff, _, _ = fixed_horizon(control, treatment, kind="proportion", clustered=False)
    hit = np.nan_to_num((diff.lower > 0) | (diff.upper < 0), nan=0.0).astype(bool)
    return float(hit[:, 3:].any(axis=1).mean())


def coverage(
    control: Moments, treatment: Moments, *, kind: str, clustered: bool, truth: float
) -> float:
    diff, _, _ = fixed_horizon(control, treatment, kind=kind, clustered=clustered)  # type: ignore[arg-type]
    lo, hi = diff.lower[:, -1], diff.upper[:, -1]
    return float(((lo <= truth) & (hi >= truth)).mean())


DESIGNS = {
    "by conversation": Design(calls_per_day=20.0),
    "by rep": Design(calls_per_day=2.0, reps_per_arm=20, rep_sd=0.3),
}
MEAN_DESIGNS = {
    "by conversation": Design(calls_per_day=20.0),
    "by rep": Design(calls_per_day=2.0, reps_per_arm=20, rep_sd=0.1),
}


def _check_null(sims: int, seed: int) -> None:
    for name, design in DESIGNS.items():
        d = Design(sims, design.days, design.calls_per_day, design.reps_per_arm, design.rep_sd)
        c, t = arms(d, "proportion", 0.0, seed)
        rate = ever_excludes(c, t, 0.0)
        assert rate <= ALPHA + slack(ALPHA, sims), f"{name}: false positives {rate:.3f}"
    for name, design in MEAN_DESIGNS.items():
        d = Design(sims, design.days, design.calls_per_day, design.reps_per_arm, design.rep_sd)
        c, t = arms(d, "mean", 0.0, seed + 1)
        rate = ever_excludes(c, t, 0.0)
        assert rate <= ALPHA + slack(ALPHA, sims), f"{name} (mean): false positives {rate:.3f}"


def _check_coverage(sims: int, seed: int) -> None:
    for kind, designs, effect in (
        ("proportion", DESIGNS, -0.06),
        ("mean", MEAN_DESIGNS, 0.05),
    ):
        for name, design in designs.items():
            d = Design(sims, design.days, design.calls_per_day, design.reps_per_arm, design.rep_sd)
            c, t = arms(d, kind, effect, seed)
            cov = coverage(c, t, kind=kind, clustered=design.reps_per_arm > 0, truth=effect)
            assert abs(cov - 0.95) <= slack(0.95, sims), f"{kind} {name}: coverage {cov:.3f}"
            # The always-valid sequence covers at every look at once, so at least as often.
            missed = ever_excludes(c, t, effect)
            assert 1 - missed >= 0.95 - slack(0.95, sims), f"{kind} {name}: sequence {missed:.3f}"


def test_daily_peeking_keeps_false_positives_at_five_percent_fast() -> None:
    _check_null(sims=400, seed=11)


def test_intervals_cover_a_real_effect_fast() -> None:
    _check_coverage(sims=400, seed=12)


def test_the_simulation_can_tell_a_broken_method() -> None:
    # Reading a fixed-horizon interval every day is the mistake the sequence prevents: it must
    # show up as far more than 5% false positives, or these simulations could not fail.
    d = Design(sims=400, calls_per_day=20.0)
    c, t = arms(d, "proportion", 0.0, 13)
    assert naive_daily_peeking(c, t) > 0.12
    # Ignoring rep clustering makes intervals too narrow: coverage falls clearly below 95%.
    d = Design(sims=400, calls_per_day=4.0, reps_per_arm=10, rep_sd=0.3)
    c, t = arms(d, "proportion", -0.06, 14)
    assert coverage(c, t, kind="proportion", clustered=False, truth=-0.06) < 0.90


@pytest.mark.slow
def test_daily_peeking_keeps_false_positives_at_five_percent_2000_experiments() -> None:
    _check_null(sims=2000, seed=21)


@pytest.mark.slow
def test_intervals_cover_a_real_effect_2000_experiments() -> None:
    _check_coverage(sims=2000, seed=22)
