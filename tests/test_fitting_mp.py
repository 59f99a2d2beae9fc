"""Marchenko–Pastur fit (CASES 6, 9, 16, spikes) and the per-spectrum driver ``fit_spectrum``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sgdspectra.fitting import FIT_COLUMNS, DroppedValuesWarning, fit_marchenko_pastur, fit_spectrum
from sgdspectra.laws import mp_cdf


def singular_values(w: np.ndarray) -> np.ndarray:
    """Descending singular values via the eigenvalues of the smaller Gram matrix."""
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram)[::-1], 0.0, None))


def spiked(rng: np.random.Generator, m: int, n: int, lam_spikes: np.ndarray) -> np.ndarray:
    """N(0,1) m x n matrix plus orthogonal rank-one signals of strength sqrt(m * lam_spike)."""
    k = lam_spikes.size
    a = np.linalg.qr(rng.standard_normal((m, k)))[0]
    b = np.linalg.qr(rng.standard_normal((n, k)))[0]
    return rng.standard_normal((m, n)) + (a * np.sqrt(m * lam_spikes)) @ b.T


@pytest.mark.parametrize("method", ["quantiles", "median"])
@pytest.mark.parametrize("seed", range(8))
def test_case16_gaussian_400x100(seed, method):
    w = np.random.default_rng(seed).standard_normal((400, 100))
    lam = singular_values(w) ** 2 / 400
    fit = fit_marchenko_pastur(lam, 0.25, method=method)
    assert fit.status == "ok" and fit.q == 0.25
    assert abs(fit.variance - 1.0) < 0.05
    assert fit.lambda_minus == pytest.approx(0.25, rel=0.05)
    assert fit.lambda_plus == pytest.approx(2.25, rel=0.05)
    assert fit.num_spikes <= 2  # only finite-size fluctuations of the edge


@pytest.mark.parametrize(("shape", "std"), [((200, 200), 1.0), ((100, 500), 0.2)])
def test_variance_recovered_for_other_shapes_and_scales(shape, std):
    rng = np.random.default_rng(42)
    w = rng.normal(0.0, std, size=shape)
    big, small = max(shape), min(shape)
    fit = fit_marchenko_pastur(singular_values(w) ** 2 / big, small / big)
    assert fit.variance == pytest.approx(std**2, rel=0.05)


@pytest.mark.parametrize("seed", range(4))
def test_planted_spikes_do_not_drag_the_variance(seed):
    rng = np.random.default_rng(100 + seed)
    spikes = np.array([8.0, 15.0, 30.0, 60.0])  # lam / M of the signals, far above 2.25
    lam = singular_values(spiked(rng, 400, 100, spikes)) ** 2 / 400
    fit = fit_marchenko_pastur(lam, 0.25, tw_alpha=0.01)
    assert abs(fit.variance - 1.0) < 0.05
    assert fit.num_spikes == 4
    # without the refinement the spikes pull the quantiles up; the refined fit is closer to 1
    crude = fit_marchenko_pastur(lam, 0.25, refine=False)
    assert crude.variance > fit.variance


def test_ks_is_over_all_values_against_the_fitted_cdf():
    rng = np.random.default_rng(9)
    lam = singular_values(spiked(rng, 400, 100, np.array([20.0]))) ** 2 / 400
    fit = fit_marchenko_pastur(lam, 0.25)
    expected = stats.kstest(lam, lambda x: mp_cdf(x, fit.variance, 0.25)).statistic
    assert fit.ks == pytest.approx(expected, abs=1e-12)
    assert np.isnan(fit.loglik) and np.isnan(fit.aic)  # compact support: no likelihood


@pytest.mark.parametrize("n_values", [1, 3])
def test_case9_tiny_layers_have_too_few_values(n_values):
    fit = fit_marchenko_pastur(np.linspace(0.5, 1.5, n_values), 0.1)
    assert fit.status == "too_few_values" and np.isnan(fit.variance)
    assert np.isnan(fit.lambda_plus) and np.isnan(fit.num_spikes)


def test_exact_zeros_are_dropped_with_a_count():
    w = np.random.default_rng(4).standard_normal((400, 100))
    w[:, :5] = 0.0  # rank 95: five exact zero singular values
    lam = np.r_[singular_values(w)[:95] ** 2 / 400, np.zeros(5)]
    with pytest.warns(DroppedValuesWarning, match="dropped 5"):
        fit = fit_marchenko_pastur(lam, 0.25)
    assert fit.status == "ok" and fit.n_zeros == 5 and fit.n_values == 95


def test_case18_nonfinite_and_bad_q():
    fit = fit_marchenko_pastur([0.1, 0.5, np.nan], 0.5)
    assert fit.status == "nonfinite" and "1 non-finite" in fit.message and np.isnan(fit.variance)
    for q in (0.0, 1.5):
        with pytest.raises(ValueError):
            fit_marchenko_pastur(np.ones(20), q)


# ---- fit_spectrum ---------------------------------------------------------------------------


def test_fit_spectrum_rows_and_laws():
    w = np.random.default_rng(1).standard_normal((400, 100))
    rows = fit_spectrum(singular_values(w), 400, 100)
    assert [r["law"] for r in rows] == ["marchenko_pastur", "power_law", "eq13", "gamma_exact"]
    for row in rows:
        assert list(row) == list(FIT_COLUMNS)
    mp, pl, eq13, exact = rows
    assert mp["status"] == "ok" and mp["q"] == 0.25 and abs(mp["variance"] - 1) < 0.05
    assert np.isnan(mp["alpha"]) and np.isnan(mp["shape"])
    assert pl["status"] == "ok" and np.isnan(pl["variance"]) and np.isfinite(pl["alpha"])
    assert eq13["shape"] == (400 - 100 + 3) / 4 and exact["shape"] == (400 - 100 + 1) / 2
    assert eq13["rate"] == pytest.approx(eq13["shape"] / np.mean(singular_values(w) ** 2))


def test_case6_orientation_invariance_and_eq13_orientation():
    w = np.random.default_rng(6).standard_normal((200, 3))
    s = singular_values(w)
    np.testing.assert_allclose(singular_values(w.T), s, rtol=1e-12)
    tall, wide = fit_spectrum(s, 200, 3, min_values=3), fit_spectrum(s, 3, 200, min_values=3)
    assert tall[0] == wide[0] and tall[3] == wide[3]  # MP and exact gamma: orientation-free
    assert tall[0]["q"] == 3 / 200
    assert tall[2]["status"] == "ok" and wide[2]["status"] == "degenerate"  # Eq. 13 is verbatim


@pytest.mark.parametrize(("n_rows", "n_cols"), [(1, 64), (3, 64)])
def test_case9_linear_64_to_1_and_3(n_rows, n_cols):
    w = np.random.default_rng(0).standard_normal((n_rows, n_cols))
    padded = np.r_[singular_values(w), np.full(5, np.nan)]  # NaN padding beyond N is ignored
    rows = fit_spectrum(padded, n_rows, n_cols)
    assert len(rows) == 4
    assert [r["status"] for r in rows] == ["too_few_values", "too_few_values", "degenerate",
                                           "too_few_values"]  # fmt: skip
    for row in rows:
        assert all(np.isnan(row[c]) for c in FIT_COLUMNS[6:])
        assert row["n_values"] == n_rows


def test_case18_nonfinite_singular_value_marks_every_law():
    rows = fit_spectrum([0.1, 0.5, np.nan], 3, 5)
    assert [r["status"] for r in rows] == ["nonfinite"] * 4
    assert all("1 non-finite" in r["message"] for r in rows)
    assert all(np.isnan(r["variance"]) and np.isnan(r["alpha"]) for r in rows)
    with pytest.raises(ValueError, match="at least N"):
        fit_spectrum([0.1, 0.5], 3, 5)


def test_case4_zero_and_identity_matrices():
    with pytest.warns(DroppedValuesWarning, match="dropped 4"):
        zero = fit_spectrum(np.zeros(4), 4, 4, min_values=1, min_tail=2)
    assert all(r["n_zeros"] == 4 and r["status"] == "too_few_values" for r in zero)
    ident = fit_spectrum(np.ones(2), 2, 2, min_values=1, min_tail=2)
    assert ident[1]["status"] == "degenerate"  # a tail of two tied values
    assert all(r["n_zeros"] == 0 and r["n_values"] == 2 for r in ident)
