"""Singular values against matrices with known spectra, and the CASES.md rows on SVD."""

import time

import numpy as np
import pytest
import scipy.linalg
import torch

from sgdspectra.spectra import normalize_weight, normalized_singular_values, singular_values, singular_values_with_driver


def test_known_spectrum_from_orthogonal_factors():
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    v, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    s = np.array([5.0, 3.0, 1.0, 0.25])
    w = u[:, :4] @ np.diag(s) @ v.T
    got = singular_values(torch.tensor(w, dtype=torch.float64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, s, rtol=1e-12)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_is_rejected_fast_with_name_and_step(bad):
    w = np.ones((3, 3))
    w[1, 2] = bad
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="non-finite") as err:
        singular_values(w, name="layers.1", step=17)
    assert time.perf_counter() - t0 < 0.5
    assert "layers.1" in str(err.value) and "step 17" in str(err.value)


def test_zero_and_identity():  # CASES 4
    np.testing.assert_array_equal(singular_values(np.zeros((4, 4))), np.zeros(4))
    np.testing.assert_allclose(singular_values(np.eye(2)), [1.0, 1.0])
    assert np.all(normalized_singular_values(np.zeros((4, 4))) == 0.0)


def test_descending_and_orientation_free():  # CASES 5, 6
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 200))
    a, b = singular_values(w), singular_values(w.T)
    assert a.size == 3 and np.all(np.diff(a) <= 0)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_ill_conditioned_in_float64():  # CASES 3
    rng = np.random.default_rng(2)
    row = rng.uniform(0.5, 1.5, 13)
    w = np.stack([row ** (k + 1) for k in range(16)])
    got = singular_values(torch.tensor(w, dtype=torch.float32))
    ref = scipy.linalg.svdvals(torch.tensor(w, dtype=torch.float32).double().numpy())
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12 * ref[0])
    h = torch.tensor(scipy.linalg.hilbert(12), dtype=torch.float32)
    got_h = singular_values(h)
    ref_h = scipy.linalg.svdvals(h.double().numpy())
    np.testing.assert_allclose(got_h, ref_h, rtol=1e-6, atol=1e-14)
    assert got_h[-1] < 1e-6  # float64 resolves values a float32 SVD would lose


def test_driver_fallback_to_gesvd(monkeypatch):
    def failing(*args, **kwargs):
        raise torch.linalg.LinAlgError("simulated convergence failure")

    monkeypatch.setattr(torch.linalg, "svdvals", failing)
    values, driver = singular_values_with_driver(np.diag([3.0, 2.0, 1.0]))
    np.testing.assert_allclose(values, [3, 2, 1])
    assert "gesvd" in driver


def test_rejects_wrong_rank_and_empty():
    with pytest.raises(ValueError, match="2-D"):
        singular_values(np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        singular_values(np.ones((0, 3)))


def test_normalisation_matches_paper_and_mp_scale():
    rng = np.random.default_rng(3)
    w = 3.0 + 0.5 * rng.standard_normal((400, 100))
    wn = normalize_weight(w).numpy()
    assert abs(wn.mean()) < 1e-12
    np.testing.assert_allclose(wn.std() * np.sqrt(400), 1.0, rtol=1e-12)
    lam = normalized_singular_values(w) ** 2
    # MP(variance 1, q = 1/4) has mean 1 and support [0.25, 2.25].
    np.testing.assert_allclose(lam.mean(), 1.0, rtol=1e-9)
    assert 0.2 < lam.min() and lam.max() < 2.4


def test_float32_vs_float64_devices_agree():  # CASES 7 (CPU half; GPU half runs where CUDA exists)
    rng = np.random.default_rng(4)
    w32 = torch.tensor(rng.standard_normal((64, 32)), dtype=torch.float32)
    ref = singular_values(w32.double())
    np.testing.assert_allclose(singular_values(w32), ref, rtol=1e-12)
    if torch.cuda.is_available():  # pragma: no cover - no GPU on CI
        np.testing.assert_allclose(singular_values(w32.cuda()), ref, rtol=1e-5)


def test_wide_weights_take_the_tall_orientation_with_the_same_values(monkeypatch):
    """A wide (out < in) weight reaches LAPACK transposed (faster, a view): same values as the
    reference float64 SVD, also for the ill-conditioned CASES 3 matrix and on the gesvd retry."""
    rng = np.random.default_rng(3)
    row = rng.uniform(0.5, 1.5, 13)
    ill = np.stack([row ** (k + 1) for k in range(16)]).T  # 13 x 16: wide
    for w in (rng.standard_normal((48, 80)), ill, rng.standard_normal((1, 30))):
        ref = scipy.linalg.svd(w, compute_uv=False, lapack_driver="gesvd")
        got, driver = singular_values_with_driver(torch.tensor(w, dtype=torch.float64))
        assert got.dtype == np.float64 and got.shape == (min(w.shape),) and np.all(np.diff(got) <= 0)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13 * ref[0])
        np.testing.assert_array_equal(got, singular_values(w.T.copy()))  # same call on the tall copy
        assert driver.startswith("torch.linalg.svdvals")
    calls = []

    def failing(a, *args, **kwargs):
        calls.append(tuple(a.shape))
        raise torch.linalg.LinAlgError("simulated convergence failure")

    monkeypatch.setattr(torch.linalg, "svdvals", failing)
    values, driver = singular_values_with_driver(ill)
    assert calls == [(16, 13)] and "gesvd" in driver
    ref = scipy.linalg.svd(ill, compute_uv=False, lapack_driver="gesvd")
    np.testing.assert_allclose(values, ref, rtol=1e-10, atol=1e-13 * ref[0])
