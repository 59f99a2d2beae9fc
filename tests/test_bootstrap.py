"""Seed intervals (primary) and parametric bootstraps of the tail and stationary-law fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sgdspectra.fitting import bootstrap_law, bootstrap_power_law, fit_power_law, seed_interval
from sgdspectra.laws import Exponential, GammaLaw, PowerLaw


def test_seed_interval_is_the_student_t_interval():
    x = np.array([2.1, 2.5, 1.9, 2.8, 2.2])
    res = seed_interval(x, level=0.9)
    low, high = stats.t.interval(0.9, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert res.status == "ok" and res.n == 5 and res.n_nan == 0
    assert (res.low, res.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))
    assert res.sd == pytest.approx(np.std(x, ddof=1))


def test_seed_interval_is_nan_safe_and_reports_small_samples():
    res = seed_interval([1.0, np.nan, 3.0, np.nan])
    assert res.status == "ok" and res.n == 2 and res.n_nan == 2 and res.mean == 2.0
    one = seed_interval([np.nan, 4.0])
    assert one.status == "too_few_values" and one.mean == 4.0 and math.isnan(one.low)
    none = seed_interval([])
    assert none.status == "too_few_values" and math.isnan(none.mean)
    inf = seed_interval([1.0, np.inf, 2.0])
    assert inf.status == "nonfinite" and math.isnan(inf.high)
    with pytest.raises(ValueError):
        seed_interval([1.0, 2.0], level=1.5)


def test_bootstrap_of_the_exponential_rate_matches_its_sampling_distribution():
    n, rate = 400, 2.0
    x = Exponential(rate).rvs(n, seed=1)
    res = bootstrap_law(x, "exponential", n_boot=300, seed=5)
    est = res.estimate["rate"]
    assert res.status == "ok" and res.n_failed == 0 and res.low["rate"] < est < res.high["rate"]
    # MLE sd = rate / sqrt(n): a 95 % interval is ~3.92 sd wide; 300 replicates estimate the
    # width to ~10 %, the 1/n bias of the MLE skews it slightly: accept 0.75-1.3
    width = (res.high["rate"] - res.low["rate"]) / (2 * 1.96 * est / math.sqrt(n))
    assert 0.75 < width < 1.3
    again = bootstrap_law(x, "exponential", n_boot=300, seed=5)
    np.testing.assert_array_equal(again.samples["rate"], res.samples["rate"])
    frame = res.to_frame()
    assert list(frame["parameter"]) == ["rate"] and "not independent" in frame["note"].iloc[0]


def test_bootstrap_law_fixed_shape_needs_the_matrix_shape():
    x = GammaLaw(3.0, 2.0).rvs(300, seed=2)
    res = bootstrap_law(x, "gamma_exact", n_boot=100, seed=1, m=15, n=10)
    assert res.low["shape"] == res.high["shape"] == 3.0  # fixed by (M - N + 1)/2
    rel = 1.96 / math.sqrt(300 * 3.0)  # rate sd / rate = 1/sqrt(n k)
    assert 0.7 < (res.high["rate"] - res.low["rate"]) / (2 * rel * res.estimate["rate"]) < 1.4
    with pytest.raises(ValueError, match="shape"):
        bootstrap_law(x, "eq13", n_boot=10)
    with pytest.raises(ValueError, match="unknown law"):
        bootstrap_law(x, "cauchy", n_boot=10)
    assert bootstrap_law([1.0, np.nan] * 10, "gamma", n_boot=5).status == "nonfinite"


def test_power_law_bootstrap_interval_and_goodness_of_fit():
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(0.1, 1.0, 300), PowerLaw(2.5, 1.0).rvs(700, seed=4)]
    fit = fit_power_law(x)
    res = bootstrap_power_law(x, n_boot=60, seed=1)
    assert res.status == "ok" and res.estimate["alpha"] == fit.alpha
    assert res.low["alpha"] < fit.alpha < res.high["alpha"]
    # with xmin re-estimated the interval is at least the fixed-xmin one (~3.92 alpha_se wide),
    # and not wildly larger for a clean 700-value tail
    width = (res.high["alpha"] - res.low["alpha"]) / (2 * 1.96 * fit.alpha_se)
    assert 0.7 < width < 3.0
    assert 0.0 <= res.gof_p <= 1.0
    # uniform values on [1, 2] are not a power law: CSN's p-value rules it out
    assert bootstrap_power_law(rng.uniform(1.0, 2.0, 1000), n_boot=40, seed=2).gof_p <= 0.1
    short = bootstrap_power_law([1.0, 2.0, 3.0], n_boot=10)
    assert short.status == "too_few_values" and not short.low
