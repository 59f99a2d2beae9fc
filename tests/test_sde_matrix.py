"""Matrix-level SDE samplers: exact OU transitions, Euler--Maruyama, calibration, starts.

Every statistical check compares with an exact result (Bru's identity, the stationary Gaussian /
Wishart law, the gamma law of a vector, Marchenko--Pastur, the exact Euler--Maruyama moment
recursion, the stationary Fokker--Planck law) at a stated tolerance; seeds are fixed so the
checks are reproducible, and every tolerance is a multiple of the Monte-Carlo standard error or a
conventional test level, never a number taken from a previous run.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from scipy import stats

from conftest import z_score
from sgdspectra.laws import mp_cdf
from sgdspectra.sde import (
    calibrate_s_frobenius,
    expected_frobenius2,
    simulate_matrix_em,
    simulate_matrix_ou,
    w0_from_singular_values,
)
from sgdspectra.sde import matrix as sde_matrix


# --------------------------------------------------------------------------- exact OU sampler
def test_bru_identity_matrix_level() -> None:
    """gamma = 0: E sum lambda(t) = ||W0||_F^2 + m n s t at every recorded time, within 3 SE."""
    m, n, s = 8, 4, 0.7
    w0 = np.random.default_rng(0).standard_normal((m, n))
    times = [0.25, 0.5, 1.0]
    ds = simulate_matrix_ou(m, n, s, 0.0, times, n_replicas=2000, seed=1, w0=w0)
    total = ds["lam"].sum("k").values  # (replica, t)
    for i, t in enumerate(times):
        z = z_score(total[:, i], float(np.sum(w0**2)) + m * n * s * t)
        assert abs(z) < 3.0, f"t = {t}: Bru's identity off by {z:.2f} SE"


def test_ou_stationary_variance_matrix_level() -> None:
    """Long time (gamma t = 15): mean of sum(lambda) / (m n) equals s / (2 gamma) within 3 SE."""
    m, n, s, gamma = 10, 5, 0.6, 1.5
    w0 = 3.0 * np.ones((m, n))  # far from stationarity at t = 0
    ds = simulate_matrix_ou(m, n, s, gamma, [10.0], n_replicas=2000, seed=2, w0=w0)
    per_entry = ds["lam"].isel(t=-1).sum("k").values / (m * n)
    assert abs(z_score(per_entry, s / (2 * gamma))) < 3.0


def test_vector_gamma_law_and_eq13_shape_rejected() -> None:
    """m x 1: stationary lambda ~ Gamma(m/2, rate gamma/s) (KS p > 0.01); Eq. 13 shape (m+2)/4
    with its rate fitted by maximum likelihood is rejected on the same data (KS p < 0.01)."""
    m, s, gamma = 10, 0.5, 0.8
    ds = simulate_matrix_ou(m, 1, s, gamma, [20.0], n_replicas=4000, seed=3, w0=np.ones((m, 1)))
    lam = ds["lam"].values[:, -1, 0]
    exact = stats.gamma(a=m / 2, scale=s / gamma)
    assert stats.kstest(lam, exact.cdf).pvalue > 0.01
    shape13 = (m - 1 + 3) / 4  # the paper's (m - n + 3) / 4 with n = 1
    rate_mle = shape13 / lam.mean()  # MLE of the rate at fixed shape
    assert stats.kstest(lam, stats.gamma(a=shape13, scale=1 / rate_mle).cdf).pvalue < 0.01


def test_marchenko_pastur_stationarity_400x100() -> None:
    """400 x 100 at stationarity: pooled lambda / 400 vs MP(variance s/(2 gamma), q = 0.25),
    KS distance <= 0.02."""
    m, n, s, gamma = 400, 100, 0.8, 0.4  # variance 1.0
    ds = simulate_matrix_ou(m, n, s, gamma, [25.0], n_replicas=20, seed=4)
    pooled = ds["lam"].isel(t=-1).values.ravel() / m
    ks = stats.kstest(pooled, lambda x: mp_cdf(x, s / (2 * gamma), n / m)).statistic
    assert ks <= 0.02, f"KS distance to Marchenko-Pastur {ks:.4f}"


def test_rotation_invariance_of_the_start() -> None:
    """The spectrum law depends on W0 only through its singular values (w0_from_singular_values)."""
    m, n, sig = 6, 3, np.array([2.0, 1.0, 0.5])
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    diag = w0_from_singular_values(sig, m, n)
    a = simulate_matrix_ou(m, n, 1.0, 0.3, [0.5], 2000, seed=6, w0=diag)
    b = simulate_matrix_ou(m, n, 1.0, 0.3, [0.5], 2000, seed=7, w0=u @ diag @ v.T)
    for k in (0, 2):
        la, lb = a["lam"].values[:, -1, k], b["lam"].values[:, -1, k]
        assert stats.ks_2samp(la, lb).pvalue > 0.01


def test_chunk_size_does_not_change_results() -> None:
    """Per-replica streams: one replica per chunk gives bit-identical output to one big chunk."""
    kwargs = dict(m=7, n=5, s=0.9, gamma=0.2, times=[0.0, 0.3, 0.3, 1.1], n_replicas=9, seed=8)
    small = simulate_matrix_ou(**kwargs, max_chunk_bytes=1)
    large = simulate_matrix_ou(**kwargs)
    np.testing.assert_array_equal(small["lam"].values, large["lam"].values)


def test_time_zero_and_repeated_times() -> None:
    """t = 0 records the start; a repeated time repeats the state; output is descending float64."""
    m, n = 5, 3
    w0 = np.random.default_rng(9).standard_normal((m, n))
    ds = simulate_matrix_ou(m, n, 1.0, 0.5, [0.0, 0.7, 0.7], n_replicas=3, seed=10, w0=w0)
    lam = ds["lam"].values
    expected0 = np.linalg.svd(w0, compute_uv=False) ** 2
    np.testing.assert_allclose(lam[:, 0], np.broadcast_to(expected0, (3, n)), rtol=1e-12)
    np.testing.assert_array_equal(lam[:, 1], lam[:, 2])
    assert lam.dtype == np.float64 and np.all(np.diff(lam, axis=-1) <= 0.0)
    assert not np.array_equal(lam[:, 0], lam[:, 1])
    assert ds.attrs["scheme"] == "exact_ou"
    assert {k: ds.attrs[k] for k in ("m", "n", "s", "gamma", "seed", "n_replicas")} == {
        "m": m, "n": n, "s": 1.0, "gamma": 0.5, "seed": 10, "n_replicas": 3,
    }
    assert set(ds.coords) == {"replica", "t", "k"}
    assert "long_name" in ds["lam"].attrs and "units" in ds["lam"].attrs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(s=-1.0), "s must be"),
        (dict(gamma=-0.1), "gamma must be"),
        (dict(times=[-0.5, 1.0]), ">= 0"),
        (dict(times=[1.0, 0.5]), "non-decreasing"),
        (dict(times=[0.0, float("nan")]), "finite"),
        (dict(w0=np.zeros((3, 4))), "shape"),
        (dict(n_replicas=0), "n_replicas"),
        (dict(seed=None), "seed"),
    ],
)
def test_matrix_ou_validation(kwargs: dict, message: str) -> None:
    base = dict(m=4, n=3, s=1.0, gamma=0.1, times=[0.0, 1.0], n_replicas=2, seed=0)
    with pytest.raises(ValueError, match=message):
        simulate_matrix_ou(**{**base, **kwargs})


# --------------------------------------------------------------------------- Euler-Maruyama
def test_em_matches_its_exact_moment_recursion() -> None:
    """EM for dW = -gamma W dt + sqrt(s) dB obeys E||W_{k+1}||^2 = (1 - gamma h)^2 E||W_k||^2 + m n s h
    exactly; the simulated mean matches it within 3 SE (catches a wrong drift or noise scale)."""
    m, n, s, gamma, dt, t_end = 4, 3, 0.8, 2.0, 0.1, 1.0
    w0 = np.full((m, n), 0.5)
    ds = simulate_matrix_em(m, n, s, lambda w: -gamma * w, dt, [t_end], 4000, seed=11, w0=w0)
    expected = float(np.sum(w0**2))
    for _ in range(round(t_end / dt)):
        expected = (1 - gamma * dt) ** 2 * expected + m * n * s * dt
    total = ds["lam"].isel(t=-1).sum("k").values
    assert abs(z_score(total, expected)) < 3.0
    # and it differs from the exact OU value by far more than 3 SE at this coarse dt
    exact = expected_frobenius2(float(np.sum(w0**2)), m, n, s, gamma, t_end)
    assert abs(z_score(total, exact)) > 3.0


def test_em_multiplicative_noise_stationary_beta_prime() -> None:
    """Noise variance s (1 + kappa ||W||^2): ||W||^2 of an m x 1 vector is a closed diffusion whose
    stationary law is beta-prime (gamma bulk, power-law tail exponent 2 + b/d); KS p > 0.01, while
    a gamma law fitted by maximum likelihood is rejected (p < 0.01)."""
    m, n, s, gamma, kappa = 3, 1, 1.0, 1.0, 0.3
    ds = simulate_matrix_em(m, n, s, lambda w: -gamma * w, 2e-3, [12.0], 2000, seed=12, multiplicative=kappa)
    x = ds["lam"].values[:, -1, 0]
    a_over_c = m * n / 2
    b_over_d = gamma / (s * kappa) - m * n / 2
    law = stats.betaprime(a_over_c, b_over_d + 1, scale=1 / kappa)
    assert stats.kstest(x, law.cdf).pvalue > 0.01
    shape, _, scale = stats.gamma.fit(x, floc=0)
    assert stats.kstest(x, stats.gamma(shape, scale=scale).cdf).pvalue < 0.01


def test_em_chunking_and_divergence(monkeypatch: pytest.MonkeyPatch) -> None:
    """EM results do not depend on the chunk size; an exploding drift raises 'diverged'."""
    kwargs = dict(m=3, n=2, s=0.5, drift=lambda w: -w, dt=0.05, times=[0.0, 0.2, 0.5], n_replicas=5, seed=13)
    large = simulate_matrix_em(**kwargs)
    monkeypatch.setattr(sde_matrix, "EM_CHUNK_BYTES", 1)
    small = simulate_matrix_em(**kwargs)
    np.testing.assert_array_equal(small["lam"].values, large["lam"].values)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError, match="diverged"):
        simulate_matrix_em(2, 2, 1.0, lambda w: 50.0 * w**3, 0.1, [100.0], 2, seed=0, w0=np.ones((2, 2)))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(s=-1.0), ValueError),
        (dict(dt=0.0), ValueError),
        (dict(multiplicative=-1.0), ValueError),
        (dict(times=[2.0, 1.0]), ValueError),
        (dict(times=[-1.0]), ValueError),
        (dict(w0=np.zeros((2, 2))), ValueError),
        (dict(drift=lambda w: w[:, :1]), ValueError),
        (dict(drift="not callable"), TypeError),
    ],
)
def test_matrix_em_validation(kwargs: dict, error: type) -> None:
    base = dict(m=3, n=2, s=1.0, drift=lambda w: -w, dt=0.1, times=[0.0, 0.5], n_replicas=2, seed=0)
    with pytest.raises(error):
        simulate_matrix_em(**{**base, **kwargs})


# --------------------------------------------------------------------------- calibration, starts
@pytest.mark.parametrize("gamma", [0.0, 0.3])
def test_calibrate_s_recovers_s(gamma: float) -> None:
    """Calibrating on the exact OU mean energy returns the s that produced it."""
    f0, m, n, s, t = 12.0, 20, 10, 0.05, 3.0
    f1 = expected_frobenius2(f0, m, n, s, gamma, t)
    assert calibrate_s_frobenius(f0, f1, m, n, gamma, t) == pytest.approx(s, rel=1e-12)


def test_calibrate_s_below_decay_is_nan(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        s = calibrate_s_frobenius(10.0, 1.0, 5, 5, 0.1, 1.0)  # decay alone leaves 10 e^{-0.2} = 8.2
    assert math.isnan(s)
    assert "below the deterministic decay" in caplog.text
    with pytest.raises(ValueError):
        calibrate_s_frobenius(1.0, 2.0, 5, 5, 0.1, 0.0)


def test_w0_from_singular_values() -> None:
    w = w0_from_singular_values([0.5, 3.0, 1.0], 5, 3)
    assert w.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), [3.0, 1.0, 0.5])
    np.testing.assert_array_equal(w0_from_singular_values([2.0], 2, 4), [[2, 0, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError):
        w0_from_singular_values([1.0, 2.0, 3.0], 2, 4)
    with pytest.raises(ValueError):
        w0_from_singular_values([-1.0], 2, 2)
