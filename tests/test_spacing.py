"""Spacing ratio ⟨r⟩: GOE value on Wishart spectra, Poisson value on independent points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgdspectra.fitting.lawfit import single_threaded_blas
from sgdspectra.spacing import (
    R_GOE,
    R_POISSON,
    spacing_ratio,
    spacing_ratio_bootstrap,
    spacing_ratios,
)


def wishart_eigenvalues(rng: np.random.Generator, m: int = 400, n: int = 200) -> np.ndarray:
    """lam = sigma**2 of an m x n matrix with i.i.d. N(0, 1) entries (real Laguerre ensemble)."""
    w = rng.standard_normal((m, n))
    with single_threaded_blas():  # small eigenproblems: BLAS threads only add overhead
        return np.linalg.eigvalsh(w.T @ w)


def test_constants():
    assert R_POISSON == pytest.approx(2 * math.log(2) - 1, abs=5e-5)
    assert R_GOE == 0.5307


def test_wishart_spectra_show_goe_repulsion():
    rng = np.random.default_rng(2024)
    # 20 replicas x 158 ratios: the sd of the mean is about 0.005, the tolerance 0.02 is ~4 sd
    values = [spacing_ratio(wishart_eigenvalues(rng)).mean_r for _ in range(20)]
    assert np.mean(values) == pytest.approx(R_GOE, abs=0.02)
    sigma = [spacing_ratio(np.sqrt(wishart_eigenvalues(rng))).mean_r for _ in range(10)]
    assert np.mean(sigma) == pytest.approx(R_GOE, abs=0.03)  # locally the same spacings in sigma


def test_independent_points_give_the_poisson_value():
    x = np.random.default_rng(7).random(20_000)
    res = spacing_ratio(x)
    # 16 000 ratios, sd of one ratio ~0.27, correlated neighbours: sd of the mean ~0.003
    assert res.status == "ok" and res.n_ratios == 16_000 - 2
    assert res.mean_r == pytest.approx(R_POISSON, abs=0.02)


def test_ratio_definition_on_a_hand_example():
    x = np.array([0.0, 1.0, 3.0, 4.0, 8.0])  # spacings 1, 2, 1, 4: ratios 1/2, 1/2, 1/4
    r, n_tied, n_values, msg = spacing_ratios(x, bulk=(0.0, 1.0))
    np.testing.assert_allclose(r, [0.5, 0.5, 0.25])
    assert (n_tied, n_values, msg) == (0, 5, "")
    assert spacing_ratio(x[::-1], bulk=(0.0, 1.0), min_ratios=3).mean_r == pytest.approx(5 / 12)


def test_ties_are_skipped_and_counted():
    x = np.array([0.0, 1.0, 1.0, 3.0, 4.0, 6.0, 6.0, 6.0, 9.0, 10.0])
    # spacings 1,0,2,1,2,0,0,3,1: of the 8 pairs, 5 contain a zero; the rest give 1/2, 1/2, 1/3
    res = spacing_ratio(x, bulk=(0.0, 1.0), min_ratios=2)
    r, n_tied, _, _ = spacing_ratios(x, bulk=(0.0, 1.0))
    assert n_tied == res.n_tied == 5 and res.n_ratios == r.size == 3
    np.testing.assert_allclose(r, [0.5, 0.5, 1 / 3])
    assert res.mean_r == pytest.approx(4 / 9) and "5 pair(s)" in res.message


def test_too_few_and_nonfinite_values():
    few = spacing_ratio(np.arange(8.0))
    assert few.status == "too_few_values" and math.isnan(few.mean_r)
    bad = spacing_ratio(np.r_[np.arange(50.0), np.nan])
    assert bad.status == "nonfinite" and "1 non-finite" in bad.message
    interval = spacing_ratio_bootstrap(np.arange(8.0))
    assert interval.status == "too_few_values" and math.isnan(interval.low)
    with pytest.raises(ValueError):
        spacing_ratio(np.arange(50.0), bulk=(0.9, 0.1))


def test_bootstrap_interval_separates_the_references():
    rng = np.random.default_rng(3)
    poisson = spacing_ratio_bootstrap(rng.random(4000), n_boot=500, seed=1)
    assert poisson.low < poisson.mean_r < poisson.high
    assert poisson.low <= R_POISSON + 0.01 and poisson.high < R_GOE
    lam = np.concatenate([wishart_eigenvalues(rng, 800, 400)])
    goe = spacing_ratio_bootstrap(lam, n_boot=500, seed=1)
    assert goe.low > R_POISSON and goe.high - goe.low < 0.15
    again = spacing_ratio_bootstrap(lam, n_boot=500, seed=1)
    assert (again.low, again.high) == (goe.low, goe.high)  # reproducible from the seed
