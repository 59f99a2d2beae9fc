"""Maximum-likelihood fits of the stationary-law candidates (location fixed at 0).

Each function takes the cleaned sample (finite, > 0; see :func:`~sgdspectra.fitting.lawfit.
clean_values`) and returns a :class:`~sgdspectra.fitting.lawfit.LawFit`:

- ``fit_gamma_fixed_shape``: shape fixed (Eq. 13, exact gamma); rate MLE ``shape / mean``
  (closed form: the moment estimate is the MLE, nothing to converge).
- ``fit_gamma``: shape and rate; the MLE solves ``ln k - digamma(k) = ln mean - mean ln x``
  (strictly monotone in k) by a bracketed root search started at the moment estimate
  ``mean**2 / var``; the rate is then ``k / mean``.
- ``fit_gamma_powerlaw_tail``: L-BFGS-B on ``(ln k, ln s, u)`` with ``u = 1/(alpha_tail - 1)``
  in ``[0, 50]`` (``u = 0`` is the gamma law), started from the gamma MLE with ``u = 0`` and
  with ``u`` from a Hill estimate of the top decile; the best converged start wins.
- ``fit_lognormal`` / ``fit_exponential``: closed form (``xmin = 0``) or, above ``xmin > 0``,
  the truncated lognormal by L-BFGS-B and the shifted exponential in closed form. On a pure
  power-law tail the truncated-lognormal likelihood rises along a ridge towards
  ``mu -> -inf, sigma -> inf`` (the lognormal degenerates into a power law; CSN 2009 note the
  same): ``mu`` is bounded below by ``ln xmin - 200 sd(ln x) - 20``, where the fit is within a
  0.1 nat of the ridge's supremum (measured against the ``powerlaw`` package).
- ``fit_truncated_power_law``: L-BFGS-B on ``(alpha, ln(rate xmin))``.
- ``fit_marchenko_pastur_law``: the robust MP fit of :mod:`sgdspectra.fitting.mp` (not an MLE:
  the MP likelihood vanishes outside a parameter-dependent support, so its maximiser is set by
  the two extreme eigenvalues, i.e. by the spikes); its likelihood is reported on raw ``lam``
  and is ``-inf`` when a value lies outside the fitted support.

An optimiser that does not report convergence gives status ``failed`` with its message.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, special

from sgdspectra.fitting.lawfit import LawFit, finish_fit, not_ok
from sgdspectra.fitting.mp import fit_marchenko_pastur
from sgdspectra.laws import (
    Exponential,
    GammaLaw,
    GammaPowerLawTail,
    LogNormal,
    MarchenkoPastur,
    PowerLaw,
    ScaledLaw,
    TruncatedPowerLaw,
)
from sgdspectra.laws.base import FloatArray
from sgdspectra.laws.distributions import gpt_logpdf

logger = logging.getLogger(__name__)

__all__ = [
    "fit_exponential",
    "fit_gamma",
    "fit_gamma_fixed_shape",
    "fit_gamma_powerlaw_tail",
    "fit_lognormal",
    "fit_marchenko_pastur_law",
    "fit_power_law_at",
    "fit_truncated_power_law",
]

_U_MAX = 50.0  # alpha_tail >= 1.02
_PENALTY = 1e10  # objective value for parameters where the likelihood is not finite


def _log_ratio_to_mean(x: FloatArray) -> FloatArray:
    """``ln(x / mean(x))`` accurate for clustered values (log1p of the relative deviation)."""
    mean = float(np.mean(x))
    out = np.log(x) - math.log(mean)
    close = np.abs(out) < 0.5
    out[close] = np.log1p((x[close] - mean) / mean)
    return out


def _minimize(
    fun: Callable[[FloatArray], float], starts: Sequence[Sequence[float]],
    bounds: Sequence[tuple[float, float]],
) -> tuple[FloatArray | None, str]:  # fmt: skip
    """Best converged L-BFGS-B result over ``starts``; ``(None, message)`` if none converged."""

    def safe(p: FloatArray) -> float:
        with np.errstate(all="ignore"):
            value = fun(p)
        return value if math.isfinite(value) else _PENALTY

    best, messages = None, []
    for x0 in starts:
        res = optimize.minimize(safe, np.asarray(x0, float), method="L-BFGS-B", bounds=bounds)
        if not res.success:  # retry from where it stopped with a derivative-free method
            res = optimize.minimize(safe, res.x, method="Nelder-Mead", bounds=bounds,
                                    options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000})
        if not res.success:
            messages.append(f"did not converge: {res.message}")
        elif res.fun >= _PENALTY:
            messages.append("likelihood not finite at the optimiser's end point")
        elif best is None or res.fun < best.fun:
            best = res
    if best is None:
        return None, "optimiser failed: " + "; ".join(sorted(set(messages)))
    return np.asarray(best.x, float), str(best.message)


def fit_gamma_fixed_shape(x: FloatArray, shape: float, law: str, n_zeros: int = 0) -> LawFit:
    """Gamma with fixed ``shape``: closed-form rate MLE ``shape / mean(x)``."""
    dist = GammaLaw(shape, shape / float(np.mean(x)), name=law)
    return finish_fit(law, x, dist, 1, "closed-form rate MLE (shape fixed, location 0)", n_zeros)


def fit_gamma(x: FloatArray, n_zeros: int = 0) -> LawFit:
    """Gamma with free shape and rate (location 0): exact MLE by bracketed root search."""
    s = -float(np.mean(_log_ratio_to_mean(x)))  # ln mean - mean ln x >= 0 (Jensen)
    if not s > 0:
        return not_ok("gamma", "degenerate", "all values equal: gamma shape is infinite",
                      x.size, n_zeros, 2)  # fmt: skip
    mean, var = float(np.mean(x)), float(np.var(x))
    k0 = mean * mean / var if var > 0 else 1.0  # moment-based starting value

    def f(k: float) -> float:
        return math.log(k) - float(special.digamma(k)) - s

    lo, hi = k0, k0
    while f(lo) < 0 and lo > 1e-12:
        lo /= 4.0
    while f(hi) > 0 and hi < 1e15:
        hi *= 4.0
    if not (f(lo) >= 0 >= f(hi)):
        return not_ok("gamma", "failed", f"could not bracket the shape MLE (s = {s:.3g})",
                      x.size, n_zeros, 2)  # fmt: skip
    k, info = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                              full_output=True)  # fmt: skip
    if not info.converged:
        return not_ok("gamma", "failed", f"shape root search: {info.flag}", x.size, n_zeros, 2)
    return finish_fit("gamma", x, GammaLaw(k, k / mean), 2,
                      "exact MLE (moment start, bracketed root of ln k - digamma k)", n_zeros)


def _hill_u(x: FloatArray) -> float:
    """``1 / (alpha - 1)`` from a Hill estimate on the top decile (at least 10 values)."""
    top = np.sort(x)[-max(10, x.size // 10):]
    logs = np.log(top / top[0])
    total = float(np.sum(logs))
    return float(np.clip(total / top.size, 1e-3, 10.0)) if total > 0 else 0.1


def fit_gamma_powerlaw_tail(x: FloatArray, n_zeros: int = 0) -> LawFit:
    """Gamma bulk with power-law tail: 3-parameter MLE (see the module docstring).

    When the MLE lies on the boundary ``u = 0`` the fit *is* the gamma law: ``alpha_tail`` and
    ``scale`` are then reported as ``inf`` and the goodness of fit is that of the gamma law.
    """
    base = fit_gamma(x)
    if not base.ok:
        return not_ok("gamma_powerlaw_tail", base.status, base.message, x.size, n_zeros, 3)
    k0, s0 = base.params["shape"], 1.0 / base.params["rate"]
    y = x / s0  # work at unit gamma scale

    def nll(p: FloatArray) -> float:
        return -float(np.mean(gpt_logpdf(y, math.exp(p[0]), math.exp(p[1]), p[2])))

    lk = math.log(k0)
    starts = [(lk, 0.0, 0.0), (lk, 0.0, _hill_u(x))]
    bounds = [(lk - 12.0, lk + 12.0), (-40.0, 40.0), (0.0, _U_MAX)]
    p, message = _minimize(nll, starts, bounds)
    if p is None:
        return not_ok("gamma_powerlaw_tail", "failed", message, x.size, n_zeros, 3)
    k, s, u = math.exp(p[0]), s0 * math.exp(p[1]), float(p[2])
    if u == 0.0:
        fit = finish_fit("gamma_powerlaw_tail", x, GammaLaw(k, 1.0 / s), 3,
                         "MLE on the boundary alpha_tail = inf: the gamma law", n_zeros)
        fit.params = {"shape": k, "scale": math.inf, "alpha_tail": math.inf, "rate": 1.0 / s}
        return fit
    dist = GammaPowerLawTail.from_gamma_scale(k, s, 1.0 + 1.0 / u)
    note = "; alpha_tail at its lower bound" if u >= _U_MAX * (1 - 1e-9) else ""
    return finish_fit("gamma_powerlaw_tail", x, dist, 3, f"L-BFGS-B MLE: {message}{note}", n_zeros)


def fit_lognormal(x: FloatArray, xmin: float = 0.0, n_zeros: int = 0,
                  law: str = "lognormal") -> LawFit:  # fmt: skip
    """Lognormal MLE: closed form, or truncated at ``xmin > 0`` (L-BFGS-B from the closed form)."""
    logs = np.log(x)
    mu0, sd0 = float(np.mean(logs)), float(np.std(logs))
    if not sd0 > 0:
        return not_ok(law, "degenerate", "all values equal: sigma_log = 0", x.size, n_zeros, 2)
    if xmin <= 0:
        return finish_fit(law, x, LogNormal(mu0, sd0), 2, "closed-form MLE", n_zeros)
    lx = math.log(xmin)

    def nll(p: FloatArray) -> float:
        return -float(np.mean(LogNormal(p[0], math.exp(p[1]), xmin).logpdf(x)))

    bounds = [(lx - 200.0 * sd0 - 20.0, float(np.max(logs)) + 10.0 * sd0),
              (math.log(sd0) - 8.0, math.log(sd0) + 5.0)]  # fmt: skip
    p, message = _minimize(nll, [(mu0, math.log(sd0))], bounds)
    if p is None:
        return not_ok(law, "failed", message, x.size, n_zeros, 2)
    return finish_fit(law, x, LogNormal(p[0], math.exp(p[1]), xmin), 2,
                      f"truncated lognormal MLE: {message}", n_zeros)  # fmt: skip


def fit_exponential(x: FloatArray, xmin: float = 0.0, n_zeros: int = 0,
                    law: str = "exponential") -> LawFit:  # fmt: skip
    """Exponential (shifted to start at ``xmin``): closed-form MLE ``rate = 1/mean(x - xmin)``."""
    excess = float(np.mean(x - xmin))
    if not excess > 0:
        return not_ok(law, "degenerate", "all values equal xmin: rate is infinite",
                      x.size, n_zeros, 1)  # fmt: skip
    return finish_fit(law, x, Exponential(1.0 / excess, xmin), 1, "closed-form MLE", n_zeros)


def fit_power_law_at(x: FloatArray, xmin: float) -> LawFit:
    """Power law above a given ``xmin`` (values ``>= xmin``): ``alpha = 1 + n / sum ln(x/xmin)``."""
    total = float(np.sum(np.log1p((x - xmin) / xmin)))
    if not total > 0:
        return not_ok("power_law", "degenerate", "tail of one tied value", x.size, 0, 1)
    return finish_fit("power_law", x, PowerLaw(1.0 + x.size / total, xmin), 1,
                      "CSN continuous MLE at the given xmin")  # fmt: skip


def fit_truncated_power_law(x: FloatArray, xmin: float, alpha_start: float) -> LawFit:
    """Power law with exponential cutoff above ``xmin`` (values ``>= xmin`` only), 2-parameter MLE.

    Starts: the power law (``alpha_start``, negligible cutoff) and an exponential-like start.
    """
    law = "truncated_power_law"
    excess = float(np.mean(x - xmin))
    if not excess > 0:
        return not_ok(law, "degenerate", "tail of one tied value", x.size, 0, 2)

    def nll(p: FloatArray) -> float:
        return -float(np.mean(TruncatedPowerLaw(p[0], math.exp(p[1]) / xmin, xmin).logpdf(x)))

    starts = [(max(alpha_start, 1.05), -12.0), (0.5, math.log(xmin / excess))]
    bounds = [(1e-3, 50.0), (-30.0, 12.0)]
    p, message = _minimize(nll, starts, bounds)
    if p is None:
        return not_ok(law, "failed", message, x.size, 0, 2)
    # The power law is nested (cutoff -> 0): an optimiser that ends below its likelihood has missed
    # the maximum, which then lies on that boundary (no cutoff); take the boundary point instead.
    boundary = np.array([max(alpha_start, bounds[0][0]), bounds[1][0]])
    if nll(boundary) < nll(p):
        logger.info("truncated power law: maximum on the no-cutoff boundary (optimiser ended %.3g below it)",
                 nll(p) - nll(boundary))
        p, message = boundary, "maximum on the no-cutoff boundary (the nested power law)"
    return finish_fit(law, x, TruncatedPowerLaw(p[0], math.exp(p[1]) / xmin, xmin), 2,
                      f"L-BFGS-B MLE: {message}")  # fmt: skip


def fit_marchenko_pastur_law(
    x: FloatArray, m: int, n: int, n_zeros: int = 0, tw_alpha: float | None = 0.05,
    min_values: int = 10,
) -> LawFit:  # fmt: skip
    """MP on raw ``lam = sigma**2`` of an ``m x n`` matrix: robust fit of ``lam / M``, q = N/M.

    ``params`` are in the MP units of ``docs/data-format.md`` (``variance`` = entry variance,
    edges of ``lam / M``); ``loglik``, ``ks`` and ``wasserstein1`` refer to the raw ``lam``.
    """
    big, small = max(int(m), int(n)), min(int(m), int(n))
    mp = fit_marchenko_pastur(x / big, small / big, min_values=min_values, tw_alpha=tw_alpha,
                              n_eigenvalues=x.size + n_zeros)  # fmt: skip
    if not mp.ok:
        return not_ok("marchenko_pastur", mp.status, mp.message, x.size, n_zeros, 1)
    base = MarchenkoPastur(mp.variance, mp.q)
    fit = finish_fit("marchenko_pastur", x, ScaledLaw(base, big), 1, mp.message, n_zeros)
    outside = int(np.count_nonzero(~np.isfinite(fit.logpdf)))
    if outside:
        fit.message += f"; {outside} value(s) outside the fitted MP support: likelihood 0"
    fit.params["num_spikes"] = mp.num_spikes
    return fit
