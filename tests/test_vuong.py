"""Likelihood-ratio tests: formulas, decisions, and power on samples from known laws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sgdspectra.fitting import compare_laws, mle, vuong_test
from sgdspectra.fitting.compare import tail_fits
from sgdspectra.laws import GammaLaw, GammaPowerLawTail, LogNormal, PowerLaw, TruncatedPowerLaw


def test_statistic_and_p_values_follow_the_definitions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(-1.0, 1.0, 400), rng.normal(-1.1, 1.2, 400)
    d = a - b
    res = vuong_test(a, b, law_a="A", law_b="B")
    sd = np.sqrt(np.mean((d - d.mean()) ** 2))  # population variance, as CSN
    assert res.R == pytest.approx(d.sum(), rel=1e-12)
    assert res.statistic == pytest.approx(d.sum() / (np.sqrt(d.size) * sd), rel=1e-12)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(res.statistic)), rel=1e-10)
    nested = vuong_test(a, b, nested=True)
    assert nested.p_value == pytest.approx(stats.chi2.sf(2 * abs(d.sum()), 1), rel=1e-10)
    assert res.describe().startswith("A vs B: R=")


def test_decisions():
    x = np.zeros(50)
    same = vuong_test(x, x, law_a="A", law_b="B")
    assert same.R == 0 and same.p_value == 1.0 and same.preferred == "none"
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 0.1, 200)
    assert vuong_test(a + 1.0, a, law_a="A", law_b="B").preferred == "A"
    assert vuong_test(a, a + 1.0, law_a="A", law_b="B").preferred == "B"
    weak = vuong_test(a + 0.001, a, nested=True, law_a="big", law_b="small", simpler="small")
    assert weak.p_value > 0.1 and weak.preferred == "small"
    assert vuong_test([0.0, -np.inf], [0.0, -1.0], law_a="A", law_b="B").preferred == "B"
    with pytest.raises(ValueError):
        vuong_test([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        vuong_test([1.0], [1.0], law_a="A", law_b="B", simpler="C")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nested_test_rejects_pure_gamma_on_heavy_tailed_samples(seed):
    x = GammaPowerLawTail.from_gamma_scale(3.0, 0.5, 4.0).rvs(1500, seed=seed)
    gamma = _row(compare_laws(x, 60, 55, tail=False, level=0.01), "gamma")
    assert gamma["lr_against"] == "gamma_powerlaw_tail" and gamma["lr_nested"]
    assert gamma["lr_p"] < 0.01 and gamma["lr_preferred"] == "gamma_powerlaw_tail"


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_nested_test_accepts_pure_gamma_on_gamma_samples(seed):
    x = GammaLaw(3.0, 2.0).rvs(1500, seed=seed)
    gamma = _row(compare_laws(x, 60, 55, tail=False, level=0.01), "gamma")
    # chi2(1) is conservative at the boundary alpha_tail = inf: rejection rate <= 1 % per seed
    assert gamma["lr_p"] >= 0.01 and gamma["lr_preferred"] == "gamma"
    assert gamma["lr_R"] >= -1e-8  # the larger law never fits worse (up to rounding)


def _row(df, law):
    return df.set_index("law").loc[law]


def _tail_tests(x):
    fits = tail_fits(x, min_tail=10)
    pl = fits["power_law"]
    return {law: vuong_test(pl.logpdf, fits[law].logpdf, nested=law == "truncated_power_law",
                            law_a="power_law", law_b=law)  # fmt: skip
            for law in ("exponential_tail", "lognormal_tail", "truncated_power_law")}


def test_tail_tests_favour_the_true_law():
    pareto = PowerLaw(2.5, 1.0).rvs(3000, seed=21)
    res = _tail_tests(pareto)
    assert res["exponential_tail"].preferred == "power_law"
    assert res["exponential_tail"].p_value < 1e-3
    cut = TruncatedPowerLaw(1.5, 0.02, 1.0).rvs(3000, seed=22)  # cutoff at 1/rate = 50
    fit_pl = mle.fit_power_law_at(cut, 1.0)
    fit_tpl = mle.fit_truncated_power_law(cut, 1.0, fit_pl.params["alpha"])
    res = vuong_test(fit_pl.logpdf, fit_tpl.logpdf, nested=True, law_a="power_law",
                     law_b="truncated_power_law", simpler="power_law")  # fmt: skip
    assert res.preferred == "truncated_power_law" and res.p_value < 1e-3
    logn = LogNormal(0.0, 1.0, 1.0).rvs(3000, seed=23)
    fit_pl = mle.fit_power_law_at(logn, 1.0)
    fit_ln = mle.fit_lognormal(logn, 1.0, law="lognormal_tail")
    res = vuong_test(fit_pl.logpdf, fit_ln.logpdf, law_a="power_law", law_b="lognormal_tail")
    assert res.preferred == "lognormal_tail" and res.R < 0


def test_compare_laws_fills_the_tail_lr_columns_consistently():
    x = PowerLaw(2.5, 1.0).rvs(800, seed=31) + 0.0
    df = compare_laws(np.r_[np.random.default_rng(3).uniform(0.1, 1.0, 200), x], 1000, 1000)
    pl = _row(df, "power_law")
    for law in ("exponential_tail", "lognormal_tail", "truncated_power_law"):
        r = _row(df, law)
        assert r["lr_against"] == "power_law" and r["n"] == pl["n"] and r["xmin"] == pl["xmin"]
        assert r["lr_R"] == pytest.approx(pl["loglik"] - r["loglik"], rel=1e-9, abs=1e-9)
        assert bool(r["lr_nested"]) == (law == "truncated_power_law")
    assert _row(df, "exponential_tail")["lr_preferred"] == "power_law"
    assert math.isnan(pl["lr_R"])
