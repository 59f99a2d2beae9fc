"""Frozen laws of ``sgdspectra.laws``: normalisation, sampler vs cdf, closed forms, limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from sgdspectra.laws import (
    Exponential,
    GammaLaw,
    GammaPowerLawTail,
    Law,
    LogNormal,
    MarchenkoPastur,
    PowerLaw,
    ScaledLaw,
    SqrtLaw,
    TruncatedPowerLaw,
    eq13_law,
    eq13_sigma_law,
    eq13_sigma_pdf,
    gamma_exact_law,
    mp_sigma_pdf,
)
from sgdspectra.laws.tails import log_tpl_integral

LAWS: dict[str, Law] = {
    "gamma": GammaLaw(2.5, 1.3),
    "gamma_small_shape": GammaLaw(0.6, 2.0),
    "eq13": eq13_law(40, 30, rate=0.8),
    "eq13_sigma": eq13_sigma_law(40, 30, eta=0.1, D=0.5, beta=2.0),
    "gamma_exact": gamma_exact_law(30, 40, rate=0.5),
    "gpt": GammaPowerLawTail(2.5, 3.0, 4.0),
    "gpt_heavy": GammaPowerLawTail(0.8, 1.0, 1.7),  # infinite mean
    "mp": MarchenkoPastur(1.0, 0.25),
    "mp_square": MarchenkoPastur(2.0, 1.0),
    "mp_sigma": SqrtLaw(MarchenkoPastur(0.5, 0.4)),
    "mp_raw": ScaledLaw(MarchenkoPastur(1.0, 0.25), 400.0),
    "lognormal": LogNormal(0.2, 0.8),
    "lognormal_tail": LogNormal(0.2, 0.8, xmin=2.0),
    "exponential": Exponential(1.5),
    "exponential_tail": Exponential(1.5, xmin=2.0),
    "power_law": PowerLaw(2.5, 1.0),
    "tpl": TruncatedPowerLaw(1.8, 0.05, 1.0),
    "tpl_small_alpha": TruncatedPowerLaw(0.5, 2.0, 1.0),
    "tpl_no_cutoff": TruncatedPowerLaw(3.0, 0.0, 1.0),
}


def _quad(f, a: float, b: float, points=None) -> float:
    if points is not None:
        return integrate.quad(f, a, b, points=points, limit=400, epsabs=1e-12, epsrel=1e-11)[0]
    return integrate.quad(f, a, b, limit=400, epsabs=1e-12, epsrel=1e-11)[0]


def _pieces(law: Law) -> list[tuple[float, float]]:
    """Integration pieces: split long ranges so quad sees the mass (log-spaced break points)."""
    lo, hi = law.support
    if math.isfinite(hi):
        return [(lo, hi)]
    start = max(lo, 1e-12)
    cuts = [lo, *np.geomspace(max(start, 1e-3), 1e4 * max(1.0, start), 8), np.inf]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


@pytest.mark.parametrize("name", list(LAWS))
def test_pdf_integrates_to_one(name):
    law = LAWS[name]
    total = sum(_quad(lambda t: float(law.pdf(t)), a, b) for a, b in _pieces(law))
    assert total == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("name", list(LAWS))
def test_sampler_matches_cdf(name):
    law = LAWS[name]
    sample = law.rvs(3000, seed=20250)
    assert sample.shape == (3000,) and np.all(np.isfinite(sample))
    lo, hi = law.support
    assert np.all(sample >= lo) and np.all(sample <= hi)
    assert stats.kstest(sample, law.cdf).pvalue > 0.01


@pytest.mark.parametrize("name", list(LAWS))
def test_cdf_is_the_integral_of_the_pdf_and_sf_its_complement(name):
    law = LAWS[name]
    lo = law.support[0]
    for x in law.rvs(4, seed=7):
        direct = _quad(lambda t: float(law.pdf(t)), lo, float(x))
        assert float(law.cdf(x)) == pytest.approx(direct, abs=1e-8)
        assert float(law.sf(x)) == pytest.approx(1.0 - direct, abs=1e-8)
    assert float(law.cdf(lo - 1.0)) == 0.0 and float(law.logpdf(lo - 1.0)) == -np.inf


@pytest.mark.parametrize("name", list(LAWS))
def test_mean_matches_quadrature(name):
    law = LAWS[name]
    if name == "gpt_heavy":
        assert law.mean() == math.inf
        return
    direct = sum(_quad(lambda t: t * float(law.pdf(t)), a, b) for a, b in _pieces(law))
    assert law.mean() == pytest.approx(direct, rel=1e-7)


def test_sampling_is_reproducible_from_a_seed_or_a_generator():
    law = LAWS["tpl"]
    np.testing.assert_array_equal(law.rvs(50, seed=3), law.rvs(50, seed=3))
    a = law.rvs(50, np.random.default_rng(4))
    b = law.rvs(50, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(law.rvs(50, seed=3), law.rvs(50, seed=5))
    assert law.loglik(a) == pytest.approx(float(np.sum(np.log(law.pdf(a)))), rel=1e-12)


def test_eq13_verbatim_in_sigma_and_lambda():
    n_rows, n_cols, eta, d, beta = 40, 30, 0.1, 0.5, 2.0
    sigma = np.linspace(0.05, 4.0, 40)
    law = eq13_sigma_law(n_rows, n_cols, eta=eta, D=d, beta=beta)
    np.testing.assert_allclose(law.pdf(sigma), eq13_sigma_pdf(sigma, n_rows, n_cols, eta, d, beta),
                               rtol=1e-12)  # fmt: skip
    lam_law = eq13_law(n_rows, n_cols, eta=eta, D=d, beta=beta)
    assert lam_law.shape == (n_rows - n_cols + 3) / 4 and lam_law.rate == beta / (4 * eta * d)
    ref = stats.gamma((n_rows - n_cols + 3) / 4, scale=4 * eta * d / beta)
    np.testing.assert_allclose(lam_law.logpdf(sigma**2), ref.logpdf(sigma**2), rtol=1e-12)
    with pytest.raises(ValueError, match="undefined"):
        eq13_law(10, 1024, rate=1.0)
    with pytest.raises(ValueError):
        eq13_law(40, 30, rate=1.0, eta=0.1, D=0.5, beta=2.0)


def test_gamma_exact_shape_is_symmetric():
    a, b = gamma_exact_law(30, 40, 1.0), gamma_exact_law(40, 30, 1.0)
    assert a.shape == b.shape == (40 - 30 + 1) / 2


def test_mp_in_sigma_matches_the_closed_form():
    law = SqrtLaw(MarchenkoPastur(0.5, 0.4))
    s = np.linspace(0.05, 1.2, 30)
    np.testing.assert_allclose(law.pdf(s), mp_sigma_pdf(s, 0.5, 0.4), rtol=1e-12, atol=1e-300)
    raw = ScaledLaw(MarchenkoPastur(1.0, 0.25), 400.0)
    assert raw.support == pytest.approx((100.0, 900.0))
    assert float(raw.logpdf(50.0)) == -np.inf and float(raw.logpdf(1000.0)) == -np.inf


def test_gpt_is_the_scaled_beta_prime_and_the_sde_stationary_density():
    law = GammaPowerLawTail(2.5, 3.0, 4.0)
    x = np.geomspace(1e-3, 1e4, 50)
    np.testing.assert_allclose(law.logpdf(x), stats.betaprime(2.5, 3.0, scale=3.0).logpdf(x),
                               rtol=1e-11)  # fmt: skip
    a, b, c, d = 3.0, 0.8, 2.0, 0.4  # SCIENCE.md §5: p ∝ lam^(a/c-1) (1 + d lam/c)^-(a/c+b/d+1)
    sde = GammaPowerLawTail.from_sde(a, b, c, d)
    assert (sde.shape, sde.scale, sde.alpha_tail) == pytest.approx((a / c, c / d, 2 + b / d))
    unnormalised = (a / c - 1) * np.log(x) - (a / c + b / d + 1) * np.log1p(d * x / c)
    diff = sde.logpdf(x) - unnormalised
    np.testing.assert_allclose(diff, diff[0], atol=1e-10)  # equal up to the normalising constant
    # tail exponent: d log p / d log lam -> -alpha_tail
    big = np.array([1e10, 1e11])
    slope = np.diff(sde.logpdf(big)) / np.diff(np.log(big))
    assert slope[0] == pytest.approx(-sde.alpha_tail, rel=1e-6)


@pytest.mark.parametrize("alpha_tail", [1e4, 1e7])
def test_gpt_tends_to_the_gamma_law_with_the_same_gamma_scale(alpha_tail):
    k, s = 2.5, 0.7
    law = GammaPowerLawTail.from_gamma_scale(k, s, alpha_tail)
    assert law.gamma_scale == pytest.approx(s, rel=1e-12) and law.rate == pytest.approx(1 / s)
    x = np.linspace(0.01, 8.0, 60)  # where the gamma law has its mass (mean k s = 1.75)
    ref = stats.gamma(k, scale=s)
    # the correction is O(x**2 / (s**2 alpha_tail)): 64 / 0.49 / 1e4 < 2e-2 at the far end
    tol = 2.0 * (x.max() / s) ** 2 / alpha_tail
    assert np.max(np.abs(law.logpdf(x) - ref.logpdf(x))) < tol
    assert np.max(np.abs(law.cdf(x) - ref.cdf(x))) < tol
    assert law.mean() == pytest.approx(k * s, rel=10 * (k + 1) / alpha_tail)


def test_tpl_integral_matches_the_incomplete_gamma_function():
    mpmath = pytest.importorskip("mpmath", reason="mpmath gives an independent Gamma(a, z)")
    for alpha in (0.5, 1.5, 2.5, 8.0, 30.0):
        for z in (1e-6, 0.1, 3.0, 50.0):
            # J(alpha, z) = e^z z^(alpha - 1) Gamma(1 - alpha, z), at 40 digits (Gamma(a, z) with
            # a << 0 cancels badly at mpmath's default 15)
            with mpmath.workdps(40):
                exact = float(mpmath.log(mpmath.e**z * mpmath.mpf(z) ** (alpha - 1)
                                         * mpmath.gammainc(1 - alpha, z)))  # fmt: skip
            assert float(log_tpl_integral(alpha, z)) == pytest.approx(exact, rel=1e-12, abs=1e-12)
    zs = np.array([[0.1, 1.0], [2.0, 5.0]])
    assert log_tpl_integral(2.0, zs).shape == (2, 2)
    # alpha < 1: J = e^z z^(alpha-1) Gamma(1-alpha) Q(1-alpha, z) with scipy's regularised Q
    z = np.array([0.3, 4.0])
    q = np.log(special.gammaincc(0.5, z) * special.gamma(0.5)) + z - 0.5 * np.log(z)
    np.testing.assert_allclose(log_tpl_integral(0.5, z), q, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [lambda: GammaLaw(0.0, 1.0), lambda: GammaPowerLawTail(1.0, 1.0, 1.0),
     lambda: PowerLaw(1.0, 1.0), lambda: TruncatedPowerLaw(0.5, 0.0, 1.0),
     lambda: LogNormal(0.0, 0.0), lambda: Exponential(1.0, xmin=-1.0),
     lambda: MarchenkoPastur(1.0, 1.5)],
)  # fmt: skip
def test_invalid_parameters_raise(make):
    with pytest.raises(ValueError):
        make()
