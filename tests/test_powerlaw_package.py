"""``fit_power_law`` against the ``powerlaw`` package (test-only dependency, envs/test-extra.txt).

Conventions compared: continuous data (``discrete=False``), full xmin scan. The package scans the
unique values except the two largest, i.e. every xmin leaving at least 3 values for distinct data
(``min_tail=3`` here), and its KS distance evaluates the empirical cdf only just *before* each
jump (as CSN's ``plfit.m``), which is ``ks="left"`` here. With these settings xmin is identical
and alpha agrees to rounding. The package uses the closed-form alpha only when it lies in
(1.5, 3] (a Nelder–Mead fit with tolerance 1e-4 otherwise), so per-candidate curves are compared
there. The default ``ks="sup"`` (the exact supremum) gives a D larger by at most ``1/n_tail``
and may select another xmin: that is the only convention difference.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

from sgdspectra.fitting import fit_power_law, mle, vuong_test
from sgdspectra.fitting.powerlaw import fit_power_law_reference
from sgdspectra.laws import PowerLaw

PIN = "powerlaw=="


def _pinned_version() -> str:
    path = pathlib.Path(__file__).resolve().parents[1] / "envs" / "test-extra.txt"
    for line in path.read_text().splitlines():
        if line.startswith(PIN):
            return line[len(PIN):].strip()
    raise AssertionError("envs/test-extra.txt does not pin powerlaw")


def _powerlaw():
    mod = pytest.importorskip(
        "powerlaw", reason="test-only dependency: pip install -r envs/test-extra.txt")
    if mod.__version__ != _pinned_version():
        pytest.skip(f"powerlaw {mod.__version__} installed, tests pinned to {_pinned_version()}")
    return mod


def _sample(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.uniform(0.1, 1.0, 300), PowerLaw(2.5, 1.0).rvs(700, seed=seed + 100)]


def _package_fit(powerlaw, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return powerlaw.Fit(x, discrete=False, verbose=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xmin_and_alpha_agree_with_the_package(seed):
    powerlaw = _powerlaw()
    x = _sample(seed)
    ref, ours = _package_fit(powerlaw, x), fit_power_law(x, min_tail=3, ks="left")
    assert ours.xmin == ref.xmin
    assert ours.alpha == pytest.approx(ref.alpha, rel=1e-6)
    assert ours.alpha == pytest.approx(ref.power_law.alpha, rel=1e-6)
    curves = ref.xmin_fitting_results
    np.testing.assert_array_equal(curves["xmins"], ours.xmin_candidates)  # same candidate set
    closed = (ours.alpha_curve > 1.5) & (ours.alpha_curve <= 3.0)
    np.testing.assert_allclose(curves["alphas"][closed], ours.alpha_curve[closed], rtol=1e-9)
    np.testing.assert_allclose(curves["distances"][closed], ours.D_curve[closed], atol=1e-9)
    # the exact supremum is larger by at most one step of the tail's empirical cdf
    exact = fit_power_law(x, min_tail=3)
    gap = exact.D_curve[closed] - curves["distances"][closed]
    assert np.all(gap >= -1e-12) and np.all(gap <= 1.0 / ours.n_tail_curve[closed] + 1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_tail_comparisons_agree_with_the_package(seed):
    powerlaw = _powerlaw()
    x = _sample(seed)
    ref, ours = _package_fit(powerlaw, x), fit_power_law(x, min_tail=3, ks="left")
    tail = x[x >= ours.xmin]
    pl = mle.fit_power_law_at(tail, ours.xmin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_exp, p_exp = ref.distribution_compare("power_law", "exponential", normalized_ratio=True)
        r_tpl, p_tpl = ref.distribution_compare("power_law", "truncated_power_law")
    exp = mle.fit_exponential(tail, ours.xmin)
    ours_exp = vuong_test(pl.logpdf, exp.logpdf)
    # the package fits the exponential by Nelder-Mead (tol 1e-4); ours is the closed form
    assert ours_exp.statistic == pytest.approx(r_exp, rel=1e-4)
    assert ours_exp.p_value == pytest.approx(p_exp, rel=1e-3)
    tpl = mle.fit_truncated_power_law(tail, ours.xmin, ours.alpha)
    ours_tpl = vuong_test(pl.logpdf, tpl.logpdf, nested=True)
    assert ours_tpl.R == pytest.approx(r_tpl, abs=1e-3)  # both numerical 2-parameter maxima


def test_vuong_test_equals_the_package_formula():
    _powerlaw()
    from powerlaw.statistics import loglikelihood_ratio

    rng = np.random.default_rng(5)
    a, b = rng.normal(-1.0, 0.5, 300), rng.normal(-1.05, 0.6, 300)
    for nested in (False, True):
        r, p = loglikelihood_ratio(a.copy(), b.copy(), nested=nested, normalized_ratio=False)
        r_norm, _ = loglikelihood_ratio(a.copy(), b.copy(), nested=nested, normalized_ratio=True)
        res = vuong_test(a, b, nested=nested)
        assert res.R == pytest.approx(r, rel=1e-12)
        assert res.statistic == pytest.approx(r_norm, rel=1e-12)
        assert res.p_value == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_left_convention_vectorised_scan_equals_the_exhaustive_loop(seed):
    """Runs without the package: the ``ks="left"`` option of the vectorised scan is exact."""
    x = _sample(seed)
    if seed == 3:
        x = np.round(x, 1)  # heavy ties
    fast, slow = fit_power_law(x, ks="left"), fit_power_law_reference(x, ks="left")
    assert (fast.xmin, fast.n_tail) == (slow.xmin, slow.n_tail)
    assert fast.alpha == pytest.approx(slow.alpha, rel=1e-10)
    assert fast.D == pytest.approx(slow.D, abs=1e-12)
    with pytest.raises(ValueError):
        fit_power_law(x, ks="right")
