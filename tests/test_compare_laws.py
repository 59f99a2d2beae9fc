"""``compare_laws``: MLE recovery at stated tolerances, statuses, GOF numbers, MP row, TW threshold.

Recovery tolerances are 4 asymptotic standard deviations of the MLE at the sample size used
(closed-form Fisher information where it exists, otherwise the observed information, i.e. the
inverse Hessian of the log-likelihood at the true parameters computed by finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, optimize, special

from sgdspectra.fitting import (
    COMPARE_COLUMNS,
    SPECTRUM_LAWS,
    TAIL_LAWS,
    TW1_QUANTILES,
    DroppedValuesWarning,
    compare_laws,
    fit_marchenko_pastur,
    johnstone_centering,
    mle,
    tw1_cdf,
    wasserstein1,
)
from sgdspectra.fitting.lawfit import single_threaded_blas
from sgdspectra.laws import (
    Exponential,
    GammaLaw,
    GammaPowerLawTail,
    LogNormal,
    MarchenkoPastur,
    TruncatedPowerLaw,
)

N = 3000  # sample size of the recovery tests


def observed_sd(logpdf: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                x: np.ndarray) -> np.ndarray:  # fmt: skip
    """sqrt(diag(H^-1)) with H the negative Hessian of sum logpdf at theta (central differences)."""
    k = theta.size
    h = 1e-4 * np.maximum(np.abs(theta), 1e-2)

    def ll(t: np.ndarray) -> float:
        return float(np.sum(logpdf(t)))

    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hess[i, j] = (ll(theta + ei + ej) - ll(theta + ei - ej) - ll(theta - ei + ej)
                          + ll(theta - ei - ej)) / (4 * h[i] * h[j])  # fmt: skip
    return np.sqrt(np.diag(np.linalg.inv(-hess)))


def _row(df, law):
    return df.set_index("law").loc[law]


def test_rows_columns_and_supports():
    lam = GammaLaw(3.0, 2.0).rvs(500, seed=1)
    df = compare_laws(lam, 20, 15)
    assert list(df.columns) == list(COMPARE_COLUMNS)
    assert list(df["law"]) == [*SPECTRUM_LAWS, *TAIL_LAWS]
    assert set(df.loc[df["law"].isin(SPECTRUM_LAWS), "support"]) == {"spectrum"}
    assert set(df.loc[df["law"].isin(TAIL_LAWS), "support"]) == {"tail"}
    assert (df["status"] == "ok").all(), df[["law", "status", "message"]]
    for _, r in df.iterrows():  # AIC / BIC definitions
        assert r["aic"] == pytest.approx(2 * r["n_params"] - 2 * r["loglik"], rel=1e-12)
        assert r["bic"] == pytest.approx(r["n_params"] * math.log(r["n"]) - 2 * r["loglik"],
                                         rel=1e-12)  # fmt: skip
        assert 0 < r["ks"] < 1 and r["wasserstein1"] > 0
    assert list(compare_laws(lam, 20, 15, tail=False)["law"]) == list(SPECTRUM_LAWS)


def test_fixed_shape_rates_and_free_gamma_are_recovered():
    # m, n chosen so that the true shape 3.0 is the exact one-particle shape (M - N + 1)/2
    k, rate = 3.0, 2.0
    lam = GammaLaw(k, rate).rvs(N, seed=2)
    df = compare_laws(lam, 15, 10, tail=False)
    exact, eq13, free = _row(df, "gamma_exact"), _row(df, "eq13"), _row(df, "gamma")
    assert exact["shape"] == 3.0 and eq13["shape"] == (15 - 10 + 3) / 4
    assert abs(exact["rate"] - rate) < 4 * rate / math.sqrt(N * k)  # Fisher: var = rate^2/(n k)
    assert eq13["rate"] == pytest.approx(eq13["shape"] / np.mean(lam), rel=1e-12)
    det = k * special.polygamma(1, k) - 1  # Fisher information of (k, rate), both free
    assert abs(free["shape"] - k) < 4 * math.sqrt(k / (N * det))
    assert abs(free["rate"] - rate) < 4 * rate * math.sqrt(special.polygamma(1, k) / (N * det))
    # eq13 has the wrong shape: the Vuong test prefers gamma_exact
    assert eq13["lr_against"] == "gamma_exact" and eq13["lr_preferred"] == "gamma_exact"
    assert eq13["lr_R"] == pytest.approx(exact["loglik"] - eq13["loglik"], rel=1e-10)


def test_lognormal_and_exponential_are_recovered():
    mu, sd, rate = 0.3, 0.7, 1.7
    df = compare_laws(LogNormal(mu, sd).rvs(N, seed=3), 30, 30, tail=False)
    assert abs(_row(df, "lognormal")["mu"] - mu) < 4 * sd / math.sqrt(N)
    assert abs(_row(df, "lognormal")["sigma_log"] - sd) < 4 * sd / math.sqrt(2 * N)
    df = compare_laws(Exponential(rate).rvs(N, seed=4), 30, 30, tail=False)
    assert abs(_row(df, "exponential")["rate"] - rate) < 4 * rate / math.sqrt(N)


def test_gamma_powerlaw_tail_is_recovered():
    k, s, alpha = 2.5, 1.0, 4.0
    x = GammaPowerLawTail.from_gamma_scale(k, s, alpha).rvs(N, seed=5)
    fit = mle.fit_gamma_powerlaw_tail(x)
    assert fit.ok, fit.message
    sd = observed_sd(lambda t: GammaPowerLawTail.from_gamma_scale(*t).logpdf(x),
                     np.array([k, s, alpha]), x)  # fmt: skip
    est = np.array([fit.params["shape"], 1 / fit.params["rate"], fit.params["alpha_tail"]])
    assert np.all(np.abs(est - [k, s, alpha]) < 4 * sd), (est, sd)
    assert fit.params["scale"] == pytest.approx(est[1] * (est[0] + est[2] - 1), rel=1e-12)


def test_tail_alternatives_are_recovered():
    alpha, rate, xmin = 1.8, 0.05, 1.0
    x = TruncatedPowerLaw(alpha, rate, xmin).rvs(N, seed=6)
    fit = mle.fit_truncated_power_law(x, xmin, alpha_start=2.0)
    sd = observed_sd(lambda t: TruncatedPowerLaw(t[0], t[1], xmin).logpdf(x),
                     np.array([alpha, rate]), x)  # fmt: skip
    assert abs(fit.params["alpha"] - alpha) < 4 * sd[0]
    assert abs(fit.params["rate"] - rate) < 4 * sd[1]
    mu, sd_log, xmin = 0.5, 0.8, 2.0
    y = LogNormal(mu, sd_log, xmin).rvs(N, seed=7)
    fit = mle.fit_lognormal(y, xmin)
    sd = observed_sd(lambda t: LogNormal(t[0], t[1], xmin).logpdf(y), np.array([mu, sd_log]), y)
    assert abs(fit.params["mu"] - mu) < 4 * sd[0]
    assert abs(fit.params["sigma_log"] - sd_log) < 4 * sd[1]
    z = Exponential(0.7, xmin=3.0).rvs(N, seed=8)
    assert abs(mle.fit_exponential(z, 3.0).params["rate"] - 0.7) < 4 * 0.7 / math.sqrt(N)


def test_zeros_are_dropped_with_a_counted_warning():
    lam = np.r_[np.zeros(5), 1e-40, GammaLaw(3.0, 1.0).rvs(200, seed=9)]  # 1e-40: numerical zero
    with pytest.warns(DroppedValuesWarning, match="dropped 6 value"):
        df = compare_laws(lam, 300, 206)
    assert (df["n_zeros"] == 6).all() and (df.loc[df["support"] == "spectrum", "n"] == 200).all()


def test_nonfinite_and_too_few_values_and_degenerate_eq13():
    df = compare_laws([0.1, 0.5, np.nan] + [1.0] * 20, 30, 23)
    assert (df["status"] == "nonfinite").all() and df["message"].str.contains("1 non-finite").all()
    assert df[["loglik", "aic", "shape", "rate", "variance"]].isna().all().all()
    df = compare_laws([1.0, 2.0, 3.0, 4.0], 64, 4)
    assert (df["status"] == "too_few_values").all() and df["loglik"].isna().all()
    df = compare_laws(GammaLaw(2.0, 1.0).rvs(10, seed=1) + 0.1, 10, 1024, tail=False)
    eq13 = _row(df, "eq13")
    assert eq13["status"] == "degenerate" and math.isnan(eq13["rate"])
    assert _row(df, "gamma_exact")["status"] == "ok"


def test_marchenko_pastur_row_on_a_gaussian_matrix():
    w = np.random.default_rng(16).standard_normal((400, 100))
    lam = np.linalg.svd(w, compute_uv=False) ** 2
    df = compare_laws(lam, 400, 100)
    mp = _row(df, "marchenko_pastur")
    assert abs(mp["variance"] - 1.0) < 0.05 and mp["q"] == 0.25  # CASES 16, in lam / M units
    direct = fit_marchenko_pastur(lam / 400, 0.25, tw_alpha=0.05)
    assert mp["variance"] == direct.variance and mp["num_spikes"] == direct.num_spikes
    law = MarchenkoPastur(mp["variance"], 0.25)
    outside = np.count_nonzero((lam / 400 < law.lo) | (lam / 400 > law.hi))
    assert np.isinf(mp["loglik"]) == (outside > 0)
    spectrum = df[df["support"] == "spectrum"]
    assert spectrum.loc[spectrum["ks"].idxmin(), "law"] == "marchenko_pastur"  # the true law


def test_wasserstein1_against_closed_forms():
    a, b = 0.2, 1.5  # two points against Exp(1): int F on [0,a], |1/2 - F| on [a,b], S beyond
    ln2 = math.log(2.0)  # F crosses 1/2 at ln 2, inside [a, b]
    middle = (math.exp(-a) - 0.5 * (ln2 - a) - 0.5) + (0.5 * (b - ln2) + math.exp(-b) - 0.5)
    exact = (a - 1 + math.exp(-a)) + middle + math.exp(-b)
    assert wasserstein1([a, b], Exponential(1.0)) == pytest.approx(exact, rel=1e-10)
    law = MarchenkoPastur(1.0, 0.25)  # one point: W1 = E|X - x0|
    for x0 in (0.1, 1.0, 3.0):
        direct = integrate.quad(lambda t, c=x0: abs(t - c) * float(law.pdf(t)), law.lo, law.hi,
                                points=[x0] if law.lo < x0 < law.hi else None, limit=200)[0]
        assert wasserstein1([x0], law) == pytest.approx(direct, rel=1e-8)
    assert wasserstein1([2.0, 3.0], GammaPowerLawTail(1.0, 1.0, 1.8)) == math.inf


def test_tracy_widom_quantiles_and_johnstone_centering():
    for level, s in TW1_QUANTILES.items():  # table vs the Fredholm determinant, 4 decimals
        assert 1.0 - tw1_cdf(s) == pytest.approx(level, abs=5e-4 * level + 1e-5)
    mu, sigma = johnstone_centering(400, 100)
    assert mu == pytest.approx((math.sqrt(399) + 10) ** 2, rel=1e-15)
    assert sigma == pytest.approx((math.sqrt(399) + 10) * (399**-0.5 + 0.1) ** (1 / 3), rel=1e-15)
    assert johnstone_centering(100, 400) == (mu, sigma)


def test_tw_spike_threshold_false_positives_and_planted_spikes():
    rng = np.random.default_rng(404)
    n_rep, hits = 200, 0
    with single_threaded_blas():  # 100 x 100 eigenproblems: BLAS threads only add overhead
        for _ in range(n_rep):
            w = rng.standard_normal((400, 100))
            lam = np.linalg.eigvalsh(w.T @ w / 400)
            hits += fit_marchenko_pastur(lam, 0.25, tw_alpha=0.05).num_spikes > 0
    # nominal 5 %; Bin(200, 0.05) exceeds 20 with probability < 1e-3
    assert hits / n_rep <= 0.1
    a = np.linalg.qr(rng.standard_normal((400, 3)))[0]
    b = np.linalg.qr(rng.standard_normal((100, 3)))[0]
    w = rng.standard_normal((400, 100)) + (a * np.sqrt(400 * np.array([6.0, 10.0, 25.0]))) @ b.T
    lam = np.linalg.svd(w, compute_uv=False) ** 2 / 400
    assert fit_marchenko_pastur(lam, 0.25, tw_alpha=0.05).num_spikes == 3


def test_an_optimiser_that_does_not_converge_gives_status_failed(monkeypatch):
    def no_convergence(fun, x0, **kwargs):
        return optimize.OptimizeResult(x=np.asarray(x0, float), fun=fun(np.asarray(x0, float)),
                                       success=False, message="ABNORMAL_TERMINATION_IN_LNSRCH")

    monkeypatch.setattr(mle.optimize, "minimize", no_convergence)
    x = GammaLaw(3.0, 2.0).rvs(300, seed=1)
    df = compare_laws(x, 20, 15)
    for law in ("gamma_powerlaw_tail", "truncated_power_law", "lognormal_tail"):
        row = _row(df, law)
        assert row["status"] == "failed" and "ABNORMAL_TERMINATION_IN_LNSRCH" in row["message"]
        assert math.isnan(row["loglik"]) and math.isnan(row["shape"]) and math.isnan(row["alpha"])
    assert _row(df, "gamma")["status"] == "ok"  # closed-form / root-search fits are unaffected
    assert _row(df, "gamma")["lr_preferred"] == "none"  # no LR against a failed fit
    assert math.isnan(_row(df, "gamma")["lr_p"])


def test_truncated_power_law_never_ends_below_its_nested_power_law():
    """On a pure Pareto tail the cutoff MLE is on (or near) the no-cutoff boundary; the fitted
    log-likelihood can never be below the nested power law's (CSN's nested test needs R <= 0)."""
    from sgdspectra.fitting import mle
    from sgdspectra.laws import PowerLaw

    for seed in range(4):
        x = 1.0 + np.random.default_rng(seed).pareto(1.5, 800)  # density exponent 2.5 above xmin = 1
        alpha = 1.0 + x.size / np.sum(np.log(x))
        tpl = mle.fit_truncated_power_law(x, 1.0, alpha)
        assert tpl.status == "ok"
        assert tpl.loglik >= float(np.sum(PowerLaw(alpha, 1.0).logpdf(x))) - 1e-6
