"""Exact identities of the laws in ``sgdspectra.laws`` (quadrature and closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from sgdspectra.laws import (
    eq13_shape,
    eq13_sigma_pdf,
    gamma_exact_shape,
    mp_cdf,
    mp_edges,
    mp_pdf,
    mp_quantile,
    mp_sigma_pdf,
    power_law_cdf,
    power_law_pdf,
)

MP_PARAMS = [(1.0, 0.25), (2.5, 0.7), (0.3, 0.02), (1.0, 1.0), (0.04, 1.0)]


def _quad(f, a, b):
    return integrate.quad(f, a, b, limit=400, epsabs=1e-13, epsrel=1e-12)[0]


def test_mp_edges_exact():
    assert mp_edges(1.0, 0.25) == pytest.approx((0.25, 2.25), rel=1e-15)
    assert mp_edges(2.0, 1.0) == pytest.approx((0.0, 8.0), abs=1e-15)


@pytest.mark.parametrize(("v", "q"), MP_PARAMS)
def test_mp_pdf_normalised_with_exact_moments(v, q):
    lo, hi = mp_edges(v, q)
    f = lambda x: mp_pdf(x, v, q)  # noqa: E731
    assert _quad(f, lo, hi) == pytest.approx(1.0, abs=1e-9)
    assert _quad(lambda x: x * f(x), lo, hi) == pytest.approx(v, rel=1e-9)  # mean = variance
    assert _quad(lambda x: x * x * f(x), lo, hi) == pytest.approx(v * v * (1 + q), rel=1e-9)
    assert mp_pdf(lo - 1e-3 * v, v, q) == 0.0 and mp_pdf(hi + 1e-3 * v, v, q) == 0.0


@pytest.mark.parametrize(("v", "q"), MP_PARAMS)
def test_mp_cdf_equals_integrated_pdf(v, q):
    lo, hi = mp_edges(v, q)
    xs = lo + (hi - lo) * np.array([0.01, 0.1, 0.3, 0.5, 0.77, 0.95, 0.999])
    expected = [_quad(lambda x: mp_pdf(x, v, q), lo, x) for x in xs]
    np.testing.assert_allclose(mp_cdf(xs, v, q), expected, atol=1e-10)
    assert mp_cdf(lo - 1.0, v, q) == 0.0 and mp_cdf(hi * 1.01, v, q) == 1.0
    assert np.all(np.diff(mp_cdf(np.linspace(lo, hi, 1001), v, q)) >= 0)


@pytest.mark.parametrize(("v", "q"), MP_PARAMS)
def test_mp_quantile_inverts_cdf(v, q):
    p = np.linspace(0.0, 1.0, 41)
    np.testing.assert_allclose(mp_cdf(mp_quantile(p, v, q), v, q), p, atol=1e-13)
    lo, hi = mp_edges(v, q)
    x = np.linspace(lo, hi, 17)[1:-1]
    np.testing.assert_allclose(mp_quantile(mp_cdf(x, v, q), v, q), x, rtol=1e-9, atol=1e-12)
    assert np.isnan(mp_quantile(1.5, v, q)) and np.isnan(mp_quantile(np.nan, v, q))


@pytest.mark.parametrize(("v", "q"), MP_PARAMS)
def test_mp_sigma_pdf_is_change_of_variables(v, q):
    lo, hi = mp_edges(v, q)
    assert _quad(lambda s: mp_sigma_pdf(s, v, q), np.sqrt(lo), np.sqrt(hi)) == pytest.approx(
        1.0, abs=1e-9
    )
    s = np.sqrt(np.linspace(lo, hi, 9)[1:-1])
    np.testing.assert_allclose(mp_sigma_pdf(s, v, q), 2 * s * mp_pdf(s**2, v, q), rtol=1e-14)
    assert np.all(np.isfinite(mp_sigma_pdf(np.linspace(0, 2 * np.sqrt(hi), 50), v, q)))


def test_mp_square_case_diverges_at_zero_but_cdf_is_fine():
    assert np.isinf(mp_pdf(0.0, 1.0, 1.0))
    assert mp_cdf(0.0, 1.0, 1.0) == 0.0 and mp_quantile(0.0, 1.0, 1.0) == 0.0
    # near 0 the q = 1 density is 1/(pi sqrt(lam)), so F(eps) ~ 2 sqrt(eps)/pi
    eps = 1e-10
    assert mp_cdf(eps, 1.0, 1.0) == pytest.approx(2 * np.sqrt(eps) / np.pi, rel=1e-4)


def test_mp_matches_gaussian_matrix_in_documented_orientation():
    """lam = sigma**2 / M of an i.i.d. N(0, v) matrix follows MP(v, q = N/M) (data-format.md)."""
    rng = np.random.default_rng(20250712)
    v = 0.3**2
    w = rng.normal(0.0, 0.3, size=(250, 1000))  # PyTorch shape (out, in) with out < in
    lam = np.linalg.eigvalsh(w @ w.T) / 1000  # = sigma**2 / M
    assert stats.kstest(lam, lambda x: mp_cdf(x, v, 0.25)).statistic < 0.03


@pytest.mark.parametrize(("v", "q"), [(0.0, 0.5), (-1.0, 0.5), (1.0, 0.0), (1.0, 1.2)])
def test_mp_rejects_bad_parameters(v, q):
    with pytest.raises(ValueError):
        mp_pdf(1.0, v, q)


def test_shapes():
    assert eq13_shape(400, 100) == 303 / 4
    assert eq13_shape(1024, 1026) == 0.25
    for rows, cols in [(10, 1024), (1024, 1027), (1, 64)]:  # n_rows - n_cols + 3 <= 0
        with pytest.raises(ValueError, match="n_rows - n_cols"):
            eq13_shape(rows, cols)
    assert gamma_exact_shape(400, 100) == gamma_exact_shape(100, 400) == 150.5
    assert gamma_exact_shape(64, 1) == 32.0  # n = 1: exact law Gamma(m/2)
    assert eq13_shape(64, 1) == (64 + 2) / 4  # ... where Eq. 13 predicts (m + 2)/4


def test_gamma_exact_shape_matches_vector_simulation():
    """For n = 1, lam = |w|**2 with w_i ~ N(0, v) is exactly Gamma(m/2, rate 1/(2v))."""
    rng = np.random.default_rng(7)
    m, v = 64, 0.5
    lam = np.sum(rng.normal(0.0, np.sqrt(v), size=(4000, m)) ** 2, axis=1)
    law = stats.gamma(gamma_exact_shape(m, 1), scale=2 * v)
    assert stats.kstest(lam, law.cdf).pvalue > 0.001


EQ13_PARAMS = [(400, 100, 0.01, 0.5, 1.0), (64, 1, 0.1, 2.0, 0.3), (100, 100, 0.05, 1.0, 4.0)]


@pytest.mark.parametrize(("m", "n", "eta", "D", "beta"), EQ13_PARAMS)
def test_eq13_sigma_pdf_normalised_and_gamma_in_lambda(m, n, eta, D, beta):
    k, rate = (m - n + 3) / 4, beta / (4 * eta * D)
    law = stats.gamma(k, scale=1 / rate)
    s_hi = np.sqrt(law.ppf(1 - 1e-14))
    total = _quad(lambda s: eq13_sigma_pdf(s, m, n, eta, D, beta), 0.0, s_hi)
    assert total == pytest.approx(1.0, abs=1e-9)
    lam = law.ppf(np.linspace(0.01, 0.99, 25))
    s = np.sqrt(lam)
    # density of lam = sigma**2 is p(sqrt(lam)) / (2 sqrt(lam))
    np.testing.assert_allclose(eq13_sigma_pdf(s, m, n, eta, D, beta) / (2 * s), law.pdf(lam),
                               rtol=1e-10)  # fmt: skip
    assert eq13_sigma_pdf(-1.0, m, n, eta, D, beta) == 0.0


@pytest.mark.parametrize(("m", "n", "eta", "D", "beta"), EQ13_PARAMS)
def test_eq13_is_square_root_of_exact_one_particle_density(m, n, eta, D, beta):
    """lam-density of Eq. 13 is proportional to sqrt(Gamma((m-n+1)/2, rate beta/s)), s = 2 eta D."""
    s_noise = 2 * eta * D
    exact = stats.gamma(gamma_exact_shape(m, n), scale=s_noise / beta)
    lam = exact.ppf(np.linspace(0.02, 0.98, 30))
    eq13_lam = eq13_sigma_pdf(np.sqrt(lam), m, n, eta, D, beta) / (2 * np.sqrt(lam))
    ratio = eq13_lam / np.sqrt(exact.pdf(lam))
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert gamma_exact_shape(m, n) != eq13_shape(m, n)  # the shapes agree only when m - n = 1


def test_eq13_rejects_undefined_layers_and_bad_scales():
    with pytest.raises(ValueError):
        eq13_sigma_pdf(1.0, 10, 1024, 0.01, 1.0, 1.0)
    with pytest.raises(ValueError):
        eq13_sigma_pdf(1.0, 400, 100, 0.0, 1.0, 1.0)


def test_power_law_density():
    alpha, xmin = 2.5, 3.0
    total = _quad(lambda x: power_law_pdf(x, alpha, xmin), xmin, np.inf)
    assert total == pytest.approx(1.0, abs=1e-9)
    x = np.array([3.0, 4.0, 10.0, 1e3])
    expected = [_quad(lambda t: power_law_pdf(t, alpha, xmin), xmin, b) for b in x]
    np.testing.assert_allclose(power_law_cdf(x, alpha, xmin), expected, atol=1e-10)
    assert power_law_pdf(2.0, alpha, xmin) == 0.0 and power_law_cdf(2.0, alpha, xmin) == 0.0
