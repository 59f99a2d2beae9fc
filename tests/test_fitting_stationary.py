"""Fixed-shape gamma fits (Eq. 13 and exact Wishart one-particle law); CASES 4, 9, 17, 18."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sgdspectra.fitting import (
    DroppedValuesWarning,
    FitResult,
    fit_eq13,
    fit_gamma_exact,
    fit_gamma_fixed_shape,
)


@pytest.mark.parametrize(
    ("shape", "rate", "seed"), [(0.75, 3.0, 0), (5.5, 2.0, 1), (150.5, 0.01, 2)]
)
def test_rate_mle_recovery(shape, rate, seed):
    n = 20_000
    lam = stats.gamma(shape, scale=1 / rate).rvs(n, random_state=np.random.default_rng(seed))
    fit = fit_gamma_fixed_shape(lam, shape, "test_law")
    se = rate / math.sqrt(n * shape)  # Fisher information of the rate with the shape known
    assert fit.status == "ok" and abs(fit.params["rate"] - rate) < 4 * se
    assert fit.ks < 1.63 / math.sqrt(n)  # 1 % KS critical value: the data do follow the law


def test_likelihood_aic_and_ks_match_scipy():
    rng = np.random.default_rng(3)
    lam = rng.gamma(4.0, 0.5, 500)
    fit = fit_gamma_fixed_shape(lam, 4.0, "g")
    rate = fit.params["rate"]
    law = stats.gamma(4.0, loc=0.0, scale=1 / rate)
    assert rate == pytest.approx(4.0 / np.mean(lam), rel=1e-14)
    assert fit.loglik == pytest.approx(np.sum(law.logpdf(lam)), rel=1e-12)
    assert fit.aic == pytest.approx(2 * 1 - 2 * fit.loglik, rel=1e-14) and fit.n_params == 1
    assert fit.ks == pytest.approx(stats.kstest(lam, law.cdf).statistic, abs=1e-12)
    # it is the maximum: the score vanishes and nearby rates are worse
    assert lam.size * 4.0 / rate == pytest.approx(np.sum(lam), rel=1e-12)
    for r in (rate * 0.999, rate * 1.001):
        assert np.sum(stats.gamma(4.0, scale=1 / r).logpdf(lam)) < fit.loglik


def test_exact_law_beats_eq13_on_vectors():
    """For n = 1 the exact law Gamma(m/2) holds; Eq. 13's (m+2)/4 is rejected by the data."""
    m, v = 64, 0.25
    w = np.random.default_rng(5).normal(0.0, math.sqrt(v), size=(3000, m))
    lam = np.sum(w**2, axis=1)  # n = 1: lam = |w|**2 ~ Gamma(m/2, rate 1/(2v))
    exact, eq13 = fit_gamma_exact(lam, m, 1), fit_eq13(lam, m, 1)
    assert exact.params["shape"] == m / 2 and eq13.params["shape"] == (m + 2) / 4
    se = (1 / (2 * v)) / math.sqrt(lam.size * m / 2)
    assert abs(exact.params["rate"] - 1 / (2 * v)) < 4 * se
    critical = 1.63 / math.sqrt(lam.size)  # KS critical value at the 1 % level
    assert exact.ks < critical < eq13.ks
    assert exact.loglik > eq13.loglik and exact.aic < eq13.aic


@pytest.mark.parametrize(("n_rows", "n_cols"), [(10, 1024), (1024, 1027), (1, 64)])
def test_eq13_undefined_layers_are_degenerate(n_rows, n_cols):
    fit = fit_eq13(np.linspace(1.0, 2.0, 20), n_rows, n_cols)
    assert fit.status == "degenerate" and "n_rows - n_cols + 3" in fit.message
    row = fit.to_row()
    assert np.isnan(row["shape"]) and np.isnan(row["rate"]) and np.isnan(row["loglik"])
    assert fit_eq13(np.linspace(1.0, 2.0, 20), 1024, 1026).params["shape"] == 0.25


def test_case17_clustered_values_use_location_zero():
    lam = np.linspace(1.007, 1.026, 12)
    fit = fit_gamma_exact(lam, 30, 7)  # shape (30 - 7 + 1)/2 = 12
    assert fit.status == "ok" and set(fit.params) == {"shape", "rate"}
    shape, rate = fit.params["shape"], fit.params["rate"]
    assert shape == 12.0 and rate == pytest.approx(shape / np.mean(lam), rel=1e-14)
    law0 = stats.gamma(shape, loc=0.0, scale=1 / rate)  # support starts at 0, not at min(lam)
    assert fit.ks == pytest.approx(stats.kstest(lam, law0.cdf).statistic, abs=1e-12)
    assert fit.loglik == pytest.approx(np.sum(law0.logpdf(lam)), rel=1e-12)
    # a free-location fit would put the support next to the data minimum; ours stays at 0
    assert law0.cdf(0.9 * lam.min()) > 0


def test_case4_zeros_are_excluded_with_a_count():
    rng = np.random.default_rng(2)
    positive = rng.gamma(3.0, 1.0, 20)
    with pytest.warns(DroppedValuesWarning, match="dropped 3"):
        fit = fit_gamma_fixed_shape(np.r_[positive, np.zeros(3)], 3.0, "g")
    assert fit.n_zeros == 3 and fit.n_values == 20
    assert fit.params["rate"] == pytest.approx(3.0 / np.mean(positive), rel=1e-14)
    with pytest.warns(DroppedValuesWarning, match="dropped 4"):
        zero = fit_gamma_exact(np.zeros(4), 4, 4)
    assert zero.status == "too_few_values" and zero.n_zeros == 4 and np.isnan(zero.to_row()["rate"])


@pytest.mark.parametrize("n_values", [1, 3])
def test_case9_too_few_values(n_values):
    fit = fit_gamma_exact(np.linspace(1.0, 2.0, n_values), 64, n_values)
    row = fit.to_row()
    assert fit.status == "too_few_values" and np.isnan(row["shape"]) and np.isnan(row["rate"])
    assert np.isnan(row["ks"]) and row["n_values"] == n_values


def test_case18_nonfinite():
    for fit in (fit_gamma_exact([0.1, 0.5, np.nan], 3, 5), fit_eq13([0.1, 0.5, np.nan], 5, 3),
                fit_eq13([0.1, 0.5, np.inf], 3, 50)):  # fmt: skip
        assert fit.status == "nonfinite" and "1 non-finite" in fit.message
        assert np.isnan(fit.to_row()["rate"])


def test_fit_result_contract():
    with pytest.raises(ValueError, match="status"):
        FitResult("eq13", "error")
    with pytest.raises(ValueError, match="parameters"):
        FitResult("eq13", "ok", params={"loc": 1.0})
    row = FitResult("eq13", "failed", "boom", loglik=1.0, params={"shape": 2.0}).to_row()
    assert np.isnan(row["loglik"]) and np.isnan(row["shape"])  # NaN unless ok, never sentinels
    with pytest.raises(ValueError):
        fit_gamma_fixed_shape(np.ones(20), 0.0, "g")
