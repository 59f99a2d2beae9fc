"""SDE on runs and the stationary check: level agreement and law tables on exact samples."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from sgdspectra.comparison import compare_levels
from sgdspectra.stationary_check import simulate_check, stationary_check_table


def lam_dataset(lam, **attrs):
    """A stored-check-like Dataset with lam(replica, t, k) at a single time."""
    lam = np.asarray(lam, dtype=float)
    return xr.Dataset({"lam": (("replica", "t", "k"), lam[:, None, :])},
                      coords={"replica": np.arange(lam.shape[0]), "t": [1.0], "k": np.arange(lam.shape[1]),
                              "step": ("t", [10])},
                      attrs=attrs)


def test_check_table_accepts_exact_law_and_rejects_eq13_on_exact_gamma_samples():
    m, s, gamma = 100, 1.0, 0.5
    rng = np.random.default_rng(11)
    exact = rng.gamma(m / 2, s / gamma, size=(3000, 1))  # the exact stationary law of an m x 1 vector
    table = stationary_check_table({("vector", "matrix_ou"): lam_dataset(exact, m=m, n=1, s=s, gamma=gamma)})
    row = table.set_index("law")
    assert row.loc["gamma_exact", "ks_pvalue"] > 0.01
    assert row.loc["eq13", "ks_pvalue"] < 0.01  # shape (m+2)/4 is wrong even with its best rate
    assert row.loc["eq13", "shape"] == pytest.approx((m + 2) / 4)


def test_check_table_mp_on_a_gaussian_matrix():
    rng = np.random.default_rng(5)
    m, n, v = 400, 100, 2.0  # s / (2 gamma) = v with s = 2, gamma = 0.5
    lam = np.stack([np.linalg.svd(rng.normal(0, np.sqrt(v), (m, n)), compute_uv=False) ** 2 for _ in range(4)])
    table = stationary_check_table({("wishart", "eigen"): lam_dataset(lam, m=m, n=n, s=2.0, gamma=0.5)})
    assert table.loc[0, "law"] == "marchenko_pastur" and table.loc[0, "ks"] < 0.03


def test_simulate_check_both_levels_small(tmp_path):
    args = dict(m=30, n=5, s=1.0, gamma=0.5, t_end=2.0, n_replicas=20, seed=3, eigen_steps=200)
    a = simulate_check("wishart", "matrix_ou", tmp_path / "a.nc", **args)
    b = simulate_check("wishart", "eigen", tmp_path / "b.nc", **args)
    assert a.lam.shape == b.lam.shape == (20, 5, 5)
    assert b.attrs["level"] == "eigen" and a.attrs["case"] == "wishart"
    with pytest.raises(ValueError, match="gamma > 0"):
        simulate_check("vector", "eigen", tmp_path / "c.nc", **{**args, "gamma": 0.0})
    with pytest.raises(ValueError, match="case"):
        simulate_check("nope", "eigen", tmp_path / "c.nc", **args)


def test_compare_levels_same_law_vs_shifted_law():
    rng = np.random.default_rng(2)
    a = lam_dataset(rng.gamma(5.0, 1.0, size=(500, 3)))
    b = lam_dataset(rng.gamma(5.0, 1.0, size=(500, 3)))
    c = lam_dataset(rng.gamma(5.0, 1.0, size=(500, 3)) + 2.0)
    same = compare_levels({"matrix_ou": {"w": a}, "eigen": {"w": b}})
    shifted = compare_levels({"matrix_ou": {"w": a}, "eigen": {"w": c}})
    assert same.loc[0, "p_lam_max"] > 0.01 and shifted.loc[0, "p_lam_max"] < 1e-6
    expected = stats.ks_2samp(a.lam.values[:, 0, 0], c.lam.values[:, 0, 0]).statistic
    assert shifted.loc[0, "ks_lam_max"] == pytest.approx(expected)
    assert compare_levels({"matrix_ou": {"w": a}}).empty
