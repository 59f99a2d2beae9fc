"""Singular-value level SDE: ordering, exact identities, agreement with the exact matrix sampler.

Tolerances are multiples of the Monte-Carlo standard error (SE), conventional test levels
(KS p > 0.01) or the tolerance stated in CASES.md; none is a number from a previous run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from conftest import z_score
from sgdspectra.sde import (
    lam_from_sigma,
    simulate_matrix_ou,
    simulate_singular_values,
    w0_from_singular_values,
)
from sgdspectra.sde import eigen as sde_eigen
from sgdspectra.sde.sigma_implicit import NearestNeighbourImplicit
from sgdspectra.sde.sigma_scheme import SigmaStepper, sigma_drift


def strictly_ordered(sigma: np.ndarray, allow_zero_last: bool = False) -> bool:
    """All trajectories finite, strictly descending along the last axis, positive."""
    last_ok = sigma[..., -1] >= 0.0 if allow_zero_last else sigma[..., -1] > 0.0
    return bool(np.all(np.isfinite(sigma)) and np.all(np.diff(sigma, axis=-1) < 0.0) and np.all(last_ok))


# --------------------------------------------------------------------------- exact identities
@pytest.mark.parametrize("m", [8, 4])  # m > n (positivity enforced) and m == n (reflection at 0)
def test_bru_identity_sigma_level(m: int) -> None:
    """gamma = 0: E sum sigma^2(t) = ||W0||^2 + m n s t within 3 SE at every recorded time."""
    sigma0, s = np.array([3.0, 2.0, 1.0, 0.5]), 0.7
    n = sigma0.size
    times = [0.25, 0.5, 1.0]
    ds = simulate_singular_values(sigma0, m, s, 0.0, 5e-3, times, n_replicas=1000, seed=20)
    total = lam_from_sigma(ds)["lam"].sum("k").values
    for i, t in enumerate(times):
        z = z_score(total[:, i], float(np.sum(sigma0**2)) + m * n * s * t)
        assert abs(z) < 3.0, f"m = {m}, t = {t}: Bru's identity off by {z:.2f} SE"


def test_ou_stationary_variance_sigma_level() -> None:
    """Long time (gamma t = 4.5; the start's excess energy decays by e^{-9}): mean of
    sum(sigma^2) / (m n) equals s / (2 gamma) within 3 SE."""
    m, s, gamma = 10, 0.6, 1.5
    sigma0 = np.linspace(4.0, 1.0, 5)
    ds = simulate_singular_values(sigma0, m, s, gamma, 5e-3, [3.0], n_replicas=1000, seed=21)
    per_entry = (ds["sigma"].isel(t=-1) ** 2).sum("k").values / (m * sigma0.size)
    assert abs(z_score(per_entry, s / (2 * gamma))) < 3.0


def test_vector_gamma_law_sigma_level() -> None:
    """n = 1: sigma^2 at stationarity ~ Gamma(m/2, rate gamma/s) (KS p > 0.01) and the Eq. 13 shape
    (m + 2)/4 with an MLE rate is rejected (p < 0.01)."""
    m, s, gamma = 10, 0.5, 0.8
    ds = simulate_singular_values([1.0], m, s, gamma, 5e-3, [12.0], n_replicas=4000, seed=22)
    lam = ds["sigma"].values[:, -1, 0] ** 2
    assert stats.kstest(lam, stats.gamma(a=m / 2, scale=s / gamma).cdf).pvalue > 0.01
    shape13 = (m + 2) / 4
    assert stats.kstest(lam, stats.gamma(a=shape13, scale=lam.mean() / shape13).cdf).pvalue < 0.01


def test_levels_agree_in_distribution_20x10() -> None:
    """Same start diag(sigma0): sigma level vs exact matrix sampler, two-sample KS on lambda_max and on
    the median eigenvalue (k = 5), p > 0.01, 1500 replicas each."""
    m, s, gamma, t_end = 20, 1.0, 0.5, 0.5
    sigma0 = np.linspace(3.0, 0.5, 10)
    eig = lam_from_sigma(simulate_singular_values(sigma0, m, s, gamma, 1e-3, [t_end], 1500, seed=23))
    mat = simulate_matrix_ou(m, 10, s, gamma, [t_end], 1500, seed=24, w0=w0_from_singular_values(sigma0, m, 10))
    for k in (0, 5):
        p = stats.ks_2samp(eig["lam"].values[:, -1, k], mat["lam"].values[:, -1, k]).pvalue
        assert p > 0.01, f"k = {k}: levels disagree, KS p = {p:.3g}"


def test_degenerate_start_is_split_exactly() -> None:
    """Ties / zeros: first step exact at the matrix level (documented rule). From W0 = 0 the sigma
    level then agrees with the exact sampler (KS p > 0.01); the start is recorded as given."""
    m, n, s, t_end = 6, 3, 1.0, 0.5
    ds = simulate_singular_values(np.zeros(n), m, s, 0.0, 5e-3, [0.0, t_end], 2000, seed=25)
    assert ds.attrs["start_rule"] == "exact_matrix_first_step"
    np.testing.assert_array_equal(ds["sigma"].values[:, 0], 0.0)
    assert strictly_ordered(ds["sigma"].values[:, 1:])
    mat = simulate_matrix_ou(m, n, s, 0.0, [t_end], 2000, seed=26)
    assert stats.ks_2samp(ds["sigma"].values[:, -1, 0] ** 2, mat["lam"].values[:, -1, 0]).pvalue > 0.01
    tied = simulate_singular_values([1.0, 1.0, 2.0], 5, s, 0.1, 0.01, [0.0, 0.1], 4, seed=27)
    assert tied.attrs["start_rule"] == "exact_matrix_first_step"
    np.testing.assert_array_equal(tied["sigma"].values[0, 0], [2.0, 1.0, 1.0])
    assert strictly_ordered(tied["sigma"].values[:, 1:])


# --------------------------------------------------------------------------- the scheme itself
@pytest.mark.parametrize("dt", [0.01, 0.001])
def test_one_particle_brownian_variance(dt: float) -> None:
    """CASES #30: one particle, no repulsion, no drift (m = n = 1, gamma = 0: sigma = |B_t|).
    Var of the free path at T = 1 is E sigma^2 = 1.00 +- 0.03 with 10^4 paths (a missing sqrt(dt)
    would give dt instead of 1)."""
    ds = simulate_singular_values([0.0], 1, 1.0, 0.0, dt, [1.0], n_replicas=10_000, seed=28)
    var = float(np.mean(ds["sigma"].values[:, -1, 0] ** 2))
    assert abs(var - 1.0) <= 0.03, f"dt = {dt}: Var = {var:.4f}"
    assert ds.attrs["n_steps"] == round(1.0 / dt)


def test_ordering_never_violated_n256() -> None:
    """10^4 steps at N = 256 with a step where neighbours come close: every recorded step strictly
    ordered and positive, rejections happen and are recorded."""
    n, m, dt = 256, 512, 1e-5
    sigma0 = np.linalg.svd(np.random.default_rng(29).standard_normal((m, n)), compute_uv=False)
    times = dt * np.arange(1, 10_001)
    ds = simulate_singular_values(sigma0, m, 1.0, 0.0, dt, times, n_replicas=1, seed=30)
    assert ds["sigma"].shape == (1, 10_000, n)
    assert strictly_ordered(ds["sigma"].values)
    assert ds.attrs["n_rejected"] > 0
    assert ds.attrs["n_rejected"] == int(ds["n_rejected"].sum())


def test_large_dt_is_rejected_and_refined_never_crossing() -> None:
    """CASES #28: 50 values, dt = 0.05 far above 1/N^2 = 4e-4: steps are rejected and re-integrated
    (counts > 0), and no pair ever crosses."""
    n, m = 50, 60
    sigma0 = np.linalg.svd(np.random.default_rng(31).standard_normal((m, n)), compute_uv=False)
    times = 0.05 * np.arange(1, 21)
    ds = simulate_singular_values(sigma0, m, 1.0, 0.1, 0.05, times, n_replicas=4, seed=32)
    assert ds.attrs["n_rejected"] > 0 and ds.attrs["n_implicit"] > 0
    assert ds.attrs["max_refinement_depth"] >= 1
    assert strictly_ordered(ds["sigma"].values)


@pytest.mark.parametrize("m", [60, 50])
def test_implicit_fallback_solves_its_equation_and_stays_ordered(m: int) -> None:
    """The IMEX fallback y = x + h b_far(x) + h b_nn(y) + noise: where Newton converges, y solves the
    equation (the Newton correction computed from y is below 1e-10 of the scale; raw residuals are
    large where h s / gap^2 is); the robust version (slow rows get their step halved on the
    Brownian bridge) returns strictly ordered values for any h, even h = 10 with increments of 3 sd."""
    two = np.array([[2.0, 0.7], [1.5, 1.4]])  # with two values every pair is a neighbour pair
    nn_only = NearestNeighbourImplicit(m, 2, 1.0, 0.2).drift_nn(two)
    np.testing.assert_allclose(nn_only, sigma_drift(two, m, 1.0, 0.2), rtol=1e-12)
    n = 50
    rng = np.random.default_rng(40)
    x = np.stack([np.linalg.svd(rng.standard_normal((m, n)), compute_uv=False) for _ in range(3)])
    z = 3.0 * rng.standard_normal(x.shape)  # increments of 3 sd
    stepper = SigmaStepper(m, n, 1.0, 0.2, batch=3)
    imp = stepper.implicit
    b_full = sigma_drift(x, m, 1.0, 0.2)
    for h in (1e-4, 0.1, 10.0):
        db = math.sqrt(h) * z
        y, converged = imp(x, h, db, b_full)
        assert strictly_ordered(y, allow_zero_last=(m == n))
        if h < 1.0:
            assert converged.all()
        if m > n and converged.any():
            yc, xc = y[converged], x[converged]
            residual = yc - (xc + h * (b_full[converged] - imp.drift_nn(xc)) + h * imp.drift_nn(yc) + db[converged])
            correction = imp._solve(*imp._newton_system(yc, h), residual)
            assert np.max(np.abs(correction)) <= 1e-10 * (1.0 + np.max(np.abs(yc)))
        gens = [np.random.default_rng(i) for i in range(3)]
        y_robust, n_solves = stepper._implicit_robust(x, b_full, h, db, gens)
        assert strictly_ordered(y_robust, allow_zero_last=(m == n)) and np.all(n_solves >= 1)


def test_no_square_root_of_negative_lambda() -> None:
    """CASES #29: lambda = 1e-4 start, dt = 0.01, many paths (some draw below -3 sd): integrating in
    sigma never evaluates an invalid operation and lambda = sigma^2 stays >= 0."""
    with np.errstate(invalid="raise", divide="raise"):
        ds = simulate_singular_values([1e-2], 2, 1.0, 0.0, 0.01, [0.05, 0.5], n_replicas=4000, seed=33)
    lam = lam_from_sigma(ds)["lam"].values
    assert np.all(np.isfinite(lam)) and np.all(lam > 0.0)


def test_weak_error_shrinks_when_dt_is_halved() -> None:
    """Weak error of E sum sigma^2(T) against Bru's exact value, at dt and dt / 2.

    One value (m = 5): the bias is pure Euler--Maruyama, so it must be detectable at the coarse dt
    (> 3 SE) and shrink by more than 3 SE of the difference. Three values (6 x 3, with rejections
    and implicit sub-steps): the error must shrink from dt = 0.1 to 0.025.
    """
    def error(sigma0: list[float], m: int, dt: float, seed: int, n_rep: int) -> tuple[float, float]:
        ds = simulate_singular_values(sigma0, m, 1.0, 0.0, dt, [1.0], n_replicas=n_rep, seed=seed)
        total = (ds["sigma"].values[:, -1] ** 2).sum(axis=1)
        exact = float(np.sum(np.square(sigma0))) + m * len(sigma0) * 1.0
        return float(total.mean() - exact), float(total.std(ddof=1) / math.sqrt(total.size))

    e_coarse, se_coarse = error([1.0], 5, 0.2, seed=34, n_rep=10_000)
    e_fine, se_fine = error([1.0], 5, 0.1, seed=35, n_rep=10_000)
    assert e_coarse > 3 * se_coarse
    assert e_coarse - e_fine > 3 * math.hypot(se_coarse, se_fine)
    e3_coarse, _ = error([1.5, 1.0, 0.5], 6, 0.1, seed=36, n_rep=20_000)
    e3_fine, _ = error([1.5, 1.0, 0.5], 6, 0.025, seed=37, n_rep=20_000)
    assert abs(e3_fine) < abs(e3_coarse)


def test_chunk_size_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-replica streams (increments, bridge, start): chunks of one replica give identical output,
    also when steps are rejected, refined and taken implicitly."""
    kwargs = dict(
        sigma0=[3.0, 2.9, 1.0, 0.2], m=5, s=1.0, gamma=0.3, dt=0.05, times=[0.0, 0.5, 1.0], n_replicas=6, seed=38
    )
    large = simulate_singular_values(**kwargs)
    assert large.attrs["n_rejected"] > 0
    monkeypatch.setattr(sde_eigen, "CHUNK_BYTES", 1)
    small = simulate_singular_values(**kwargs)
    np.testing.assert_array_equal(small["sigma"].values, large["sigma"].values)
    np.testing.assert_array_equal(small["n_rejected"].values, large["n_rejected"].values)


def test_output_format_and_lam_helper() -> None:
    ds = simulate_singular_values([2.0, 1.0], 3, 0.5, 0.1, 0.01, [0.0, 0.1], n_replicas=2, seed=39)
    assert ds["sigma"].dims == ("replica", "t", "k") and ds["sigma"].dtype == np.float64
    assert ds.attrs["scheme"] == "sigma_em_bridge_imex"
    for key in ("m", "n", "s", "gamma", "dt", "seed", "n_replicas", "n_rejected", "n_implicit"):
        assert key in ds.attrs
    assert "long_name" in ds["sigma"].attrs and "units" in ds["sigma"].attrs
    lam = lam_from_sigma(ds)
    np.testing.assert_array_equal(lam["lam"].values, ds["sigma"].values ** 2)
    assert lam.attrs == ds.attrs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(s=-1.0), "s must be"),
        (dict(s=0.0), "s must be"),
        (dict(gamma=-1.0), "gamma must be"),
        (dict(sigma0=[1.0, -0.5]), "sigma0"),
        (dict(sigma0=[1.0, float("nan")]), "sigma0"),
        (dict(m=1), "m >= n"),
        (dict(dt=0.0), "dt must be"),
        (dict(times=[1.0, 0.5]), "non-decreasing"),
        (dict(times=[-0.1]), ">= 0"),
    ],
)
def test_sigma_validation(kwargs: dict, message: str) -> None:
    base = dict(sigma0=[2.0, 1.0], m=3, s=1.0, gamma=0.1, dt=0.01, times=[0.0, 0.1], n_replicas=2, seed=0)
    with pytest.raises(ValueError, match=message):
        simulate_singular_values(**{**base, **kwargs})
