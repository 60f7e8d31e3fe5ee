"""Fixed-horizon statistics agree with scipy and statsmodels on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    samplesize_proportions_2indep_onetail,
)

from service.experiments.stats.intervals import katz_ratio, newcombe_diff, welch, wilson
from service.experiments.stats.moments import cluster_moments, iid_moments
from service.experiments.stats.sequential import (
    always_valid_p,
    boundary_factor,
    confidence_sequence,
    mixture_rho2,
)
from service.experiments.stats.tests_and_plans import (
    holm,
    n_per_arm_mean,
    n_per_arm_proportion,
    sample_ratio_mismatch,
)

COUNTS = [(13, 40, 7, 45), (0, 25, 3, 30), (50, 50, 41, 60), (120, 1000, 95, 1010), (1, 3, 2, 9)]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), COUNTS)
def test_wilson_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    for x, n in ((x1, n1), (x2, n2)):
        iv = wilson(x, n)
        lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert float(iv.lower) == pytest.approx(lo, abs=1e-12)
        assert float(iv.upper) == pytest.approx(hi, abs=1e-12)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), COUNTS)
def test_newcombe_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    iv = newcombe_diff(x1, n1, x2, n2)
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert float(iv.estimate) == pytest.approx(x1 / n1 - x2 / n2)
    assert (float(iv.lower), float(iv.upper)) == pytest.approx((lo, hi), abs=1e-12)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [c for c in COUNTS if c[0] and c[2]])
def test_katz_ratio_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    iv = katz_ratio(x1, n1, x2, n2)
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="log", compare="ratio")
    assert (float(iv.lower), float(iv.upper)) == pytest.approx((lo, hi), rel=1e-10)


def test_katz_ratio_is_undefined_with_a_zero_count() -> None:
    iv = katz_ratio(0, 25, 3, 30)
    assert np.isnan(iv.lower) and np.isnan(iv.upper)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_welch_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.gamma(2.0, 1.5, 37)
    b = rng.normal(2.5, 4.0, 80)
    iv = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (float(iv.lower), float(iv.upper)) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_iid_moments_give_the_sample_variance_of_the_mean() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(1.0, 2.0, 500)
    day = rng.integers(0, 10, 500)
    mom = iid_moments(day, np.ones(500), y, y * y, 10)
    for d in (0, 4, 9):
        sub = y[day <= d]
        assert float(mom.mean()[d]) == pytest.approx(sub.mean())
        assert float(mom.variance()[d]) == pytest.approx(sub.var(ddof=1) / sub.size)


def _clustered_sample(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clusters = 30
    sizes = rng.integers(1, 40, clusters)
    cluster = np.repeat(np.arange(clusters), sizes)
    y = rng.normal(0, 1, cluster.size) + rng.normal(0, 0.8, clusters)[cluster]
    treat = (cluster % 2).astype(np.float64)
    y = y + 0.3 * treat
    day = rng.integers(0, 14, cluster.size)
    return cluster, y, treat, day


def _arm_moments(cluster: np.ndarray, y: np.ndarray, day: np.ndarray, days: int):  # type: ignore[no-untyped-def]
    # One row per observation: several rows per (cluster, day) must aggregate correctly too.
    return cluster_moments(cluster, day, np.ones(y.size), y, days)


@pytest.mark.parametrize("seed", [4, 5])
def test_cluster_robust_variance_matches_statsmodels(seed: int) -> None:
    cluster, y, treat, day = _clustered_sample(seed)
    t, c = treat == 1, treat == 0
    mt = _arm_moments(cluster[t], y[t], day[t], 14)
    mc = _arm_moments(cluster[c], y[c], day[c], 14)
    fit = sm.OLS(y, sm.add_constant(treat)).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    assert float(mt.mean()[-1] - mc.mean()[-1]) == pytest.approx(fit.params[1])
    # statsmodels scales the sandwich by G/(G-1) * (N-1)/(N-K) over all clusters; we use
    # K/(K-1) per variant. Undo ours, apply theirs, and the sandwiches must agree exactly.
    kt, kc = float(mt.k[-1]), float(mc.k[-1])
    raw = mt.variance()[-1] * (kt - 1) / kt + mc.variance()[-1] * (kc - 1) / kc
    groups, n = kt + kc, y.size
    theirs = raw * groups / (groups - 1) * (n - 1) / (n - 2)
    assert float(theirs) == pytest.approx(fit.cov_params()[1, 1], rel=1e-10)


def test_cluster_moments_by_day_equal_moments_of_the_data_so_far() -> None:
    cluster, y, _, day = _clustered_sample(6)
    mom = _arm_moments(cluster, y, day, 14)
    for d in (0, 6, 13):
        keep = day <= d
        again = _arm_moments(cluster[keep], y[keep], np.zeros(keep.sum(), dtype=int), 1)
        assert float(mom.variance()[d]) == pytest.approx(float(again.variance()[0]))
        assert float(mom.k[d]) == len(set(cluster[keep]))


def test_holm_matches_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.2, 0.001, 0.012]
    adjusted, rejected = holm(p)
    reject_sm, adjusted_sm, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert adjusted == pytest.approx(list(adjusted_sm))
    assert rejected == list(reject_sm)
    assert holm([]) == ([], [])


def test_sample_ratio_mismatch_matches_scipy() -> None:
    res = sample_ratio_mismatch([5200, 4800], [1, 1])
    chi2, p = sps.chisquare([5200, 4800])
    assert res.chi2 == pytest.approx(chi2) and res.p_value == pytest.approx(p)
    assert res.mismatch  # 5200 / 4800 on a 50/50 split is far beyond chance
    ok = sample_ratio_mismatch([3010, 2990, 2000], [3, 3, 2])
    assert not ok.mismatch and ok.expected == pytest.approx([3000, 3000, 2000])


def test_sample_sizes_match_statsmodels() -> None:
    ours = n_per_arm_proportion(0.30, -0.05)
    theirs = samplesize_proportions_2indep_onetail(-0.05, 0.30, 0.8, alternative="two-sided")
    assert ours == pytest.approx(theirs, rel=1e-9)
    mean_n = n_per_arm_mean(2.0, 0.5)
    assert mean_n == pytest.approx(
        NormalIndPower().solve_power(0.25, alpha=0.05, power=0.8), rel=1e-3
    )


def test_always_valid_p_and_sequence_agree() -> None:
    rho2 = mixture_rho2(2000)
    est = np.array([0.0, 0.05, 0.1, 0.2, -0.3])
    var = np.full(5, 0.002)
    units = np.array([100, 500, 1000, 2000, 4000])
    cs = confidence_sequence(est, var, units, rho2=rho2)
    p = always_valid_p(est, var, units, rho2=rho2)
    excludes = (cs.lower > 0) | (cs.upper < 0)
    assert list(p <= 0.05) == list(excludes)
    # Wider than the fixed-horizon 1.96 standard errors, and widest very early on.
    factors = boundary_factor(units, rho2)
    assert np.all(factors > 1.96) and factors[0] > factors[3]
