"""Fit every candidate law to one matrix's squared singular values and compare them.

:func:`compare_laws` returns one row per law (columns :data:`COMPARE_COLUMNS`):

- ``support == "spectrum"`` (fitted to all positive ``lam``; their ``loglik``/``aic``/``bic`` are
  comparable with each other): ``eq13`` (shape ``(m - n + 3)/4`` verbatim, rate fitted;
  ``degenerate`` when the shape is <= 0), ``gamma_exact`` (shape ``(M - N + 1)/2``), ``gamma``
  (shape and rate), ``gamma_powerlaw_tail`` (shape, scale, alpha_tail; rate = 1/gamma scale),
  ``marchenko_pastur`` (robust fit of ``lam / M`` with q = N/M: ``variance`` and the edges are
  in those units; likelihood on raw ``lam``, ``-inf`` when a value is outside the support;
  ``num_spikes`` above the Tracy–Widom threshold at ``tw_alpha``), ``lognormal``, ``exponential``;
- ``support == "tail"`` (only with ``tail=True``; fitted to the values ``>= xmin`` of the CSN
  power-law fit, comparable with each other only): ``power_law``, ``truncated_power_law``,
  ``exponential_tail`` (shifted), ``lognormal_tail`` (truncated).

Likelihood-ratio columns (``lr_*``) are filled on the rows of the tested law L against the
reference A in ``lr_against``: ``lr_R = loglik(A) - loglik(L)`` over the same values (``> 0``
favours A), ``lr_statistic`` the normalised ratio, ``lr_p`` its p-value, ``lr_preferred`` the
outcome at ``level`` (see :mod:`~sgdspectra.fitting.vuong`). Tests: power law against each tail
alternative (``truncated_power_law`` nested, chi2(1)); ``gamma_powerlaw_tail`` against
``gamma`` (on the ``gamma`` row; nested, boundary, conservative chi2(1)); ``gamma_exact`` against
``eq13`` (on the ``eq13`` row; non-nested Vuong).

Values are treated as an i.i.d. sample although eigenvalues of one matrix repel: likelihoods,
AIC/BIC and p-values are descriptive. ``m, n`` is the PyTorch shape ``(n_rows, n_cols)``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sgdspectra.fitting import mle
from sgdspectra.fitting.lawfit import LawFit, clean_values, not_ok, single_threaded_blas
from sgdspectra.fitting.powerlaw import fit_power_law
from sgdspectra.fitting.vuong import vuong_test
from sgdspectra.laws import eq13_shape, gamma_exact_shape
from sgdspectra.laws.base import FloatArray

logger = logging.getLogger(__name__)

__all__ = ["COMPARE_COLUMNS", "LR_TESTS", "SPECTRUM_LAWS", "TAIL_LAWS", "compare_laws",
           "fit_spectrum_law", "tail_fits"]  # fmt: skip

SPECTRUM_LAWS: tuple[str, ...] = ("eq13", "gamma_exact", "gamma", "gamma_powerlaw_tail",
                                  "marchenko_pastur", "lognormal", "exponential")  # fmt: skip
TAIL_LAWS: tuple[str, ...] = ("power_law", "truncated_power_law", "exponential_tail",
                              "lognormal_tail")  # fmt: skip
_PARAMS = ("shape", "rate", "scale", "alpha_tail", "variance", "q", "lambda_minus",
           "lambda_plus", "num_spikes", "mu", "sigma_log", "alpha", "xmin", "n_tail")  # fmt: skip
_LR = ("lr_against", "lr_R", "lr_statistic", "lr_p", "lr_nested", "lr_preferred")
#: Columns of :func:`compare_laws`, in order.
COMPARE_COLUMNS: tuple[str, ...] = ("law", "support", "status", "message", "n", "n_zeros",
                                    "n_params", "loglik", "aic", "bic", "ks", "wasserstein1",
                                    *_PARAMS, *_LR)  # fmt: skip
_N_PARAMS = {"eq13": 1, "gamma_exact": 1, "gamma": 2, "gamma_powerlaw_tail": 3,
             "marchenko_pastur": 1, "lognormal": 2, "exponential": 1, "power_law": 2,
             "truncated_power_law": 3, "exponential_tail": 2, "lognormal_tail": 3}  # fmt: skip
#: The likelihood-ratio tests: tested law -> (reference ``lr_against``, nested, simpler law).
LR_TESTS: dict[str, tuple[str, bool, str | None]] = {
    "eq13": ("gamma_exact", False, None),
    "gamma": ("gamma_powerlaw_tail", True, "gamma"),
    "exponential_tail": ("power_law", False, None),
    "lognormal_tail": ("power_law", False, None),
    "truncated_power_law": ("power_law", True, "power_law"),
}


def _eq13(x: FloatArray, m: int, n: int, nz: int) -> LawFit:
    try:
        shape = eq13_shape(m, n)
    except ValueError as err:
        return not_ok("eq13", "degenerate", str(err), x.size, nz, 1)
    return mle.fit_gamma_fixed_shape(x, shape, "eq13", nz)


_FITTERS: dict[str, Callable[[FloatArray, int, int, int], LawFit]] = {
    "eq13": _eq13,
    "gamma_exact": lambda x, m, n, nz: mle.fit_gamma_fixed_shape(
        x, gamma_exact_shape(m, n), "gamma_exact", nz),
    "gamma": lambda x, m, n, nz: mle.fit_gamma(x, nz),
    "gamma_powerlaw_tail": lambda x, m, n, nz: mle.fit_gamma_powerlaw_tail(x, nz),
    "lognormal": lambda x, m, n, nz: mle.fit_lognormal(x, 0.0, nz),
    "exponential": lambda x, m, n, nz: mle.fit_exponential(x, 0.0, nz),
}  # fmt: skip


def fit_spectrum_law(
    law: str, x: FloatArray, m: int, n: int, n_zeros: int = 0, *,
    tw_alpha: float | None = 0.05, min_values: int = 10,
) -> LawFit:  # fmt: skip
    """Fit one of :data:`SPECTRUM_LAWS` to cleaned positive values ``x`` of an ``m x n`` matrix.

    ``tw_alpha`` and ``min_values`` apply to ``marchenko_pastur`` only (the other laws need at
    least one value, and the caller checks ``min_values``).
    """
    if law == "marchenko_pastur":
        return mle.fit_marchenko_pastur_law(x, m, n, n_zeros, tw_alpha=tw_alpha,
                                            min_values=min_values)  # fmt: skip
    if law not in _FITTERS:
        raise ValueError(f"unknown law {law!r}; expected one of {SPECTRUM_LAWS}")
    return _FITTERS[law](x, int(m), int(n), n_zeros)


def tail_fits(x: FloatArray, min_tail: int = 10) -> dict[str, LawFit]:
    """CSN power-law tail and its three alternatives, all on the values ``>= xmin``.

    ``xmin`` comes from :func:`~sgdspectra.fitting.powerlaw.fit_power_law`; when that fit is not
    ok, every tail law carries its status and message.
    """
    csn = fit_power_law(x, min_tail=min_tail, full_curves=False)
    if not csn.ok:
        return {law: not_ok(law, csn.status, csn.message, csn.n_values, csn.n_zeros,
                            _N_PARAMS[law]) for law in TAIL_LAWS}  # fmt: skip
    xmin = csn.xmin
    tail = x[x >= xmin]
    fits = {
        "power_law": mle.fit_power_law_at(tail, xmin),
        "truncated_power_law": mle.fit_truncated_power_law(tail, xmin, csn.alpha),
        "exponential_tail": mle.fit_exponential(tail, xmin, law="exponential_tail"),
        "lognormal_tail": mle.fit_lognormal(tail, xmin, law="lognormal_tail"),
    }
    for law, fit in fits.items():  # xmin was chosen on the data: one more parameter each
        fit.n_params = _N_PARAMS[law]  # aic and bic follow
        if fit.ok:
            fit.params.update(xmin=xmin, n_tail=float(tail.size))
    fits["power_law"].message = csn.message
    return fits


def _lr_columns(law: str, fits: dict[str, LawFit], level: float) -> dict[str, Any]:
    if law not in LR_TESTS:
        return {}
    ref, nested, simpler = LR_TESTS[law]
    out: dict[str, Any] = {"lr_against": ref, "lr_nested": nested}
    a, b = fits.get(ref), fits[law]
    if a is None or not (a.ok and b.ok):
        return out | {"lr_preferred": "none"}
    res = vuong_test(a.logpdf, b.logpdf, nested, level=level, law_a=ref, law_b=law,
                     simpler=simpler)  # fmt: skip
    return out | {"lr_R": res.R, "lr_statistic": res.statistic, "lr_p": res.p_value,
                  "lr_preferred": res.preferred}  # fmt: skip


def _default_zero_rtol(m: int, n: int) -> float:
    """Numerical-rank rule on sigma (``sigma <= max(m, n) eps sigma_max``), squared for lam."""
    return (max(m, n) * float(np.finfo(np.float64).eps)) ** 2


def compare_laws(
    lam: npt.ArrayLike, m: int, n: int, *, tail: bool = True, min_values: int = 10,
    min_tail: int = 10, zero_rtol: float | None = None, tw_alpha: float | None = 0.05,
    level: float = 0.1,
) -> pd.DataFrame:  # fmt: skip
    """Fit every candidate law to ``lam = sigma**2`` of an ``m x n`` weight; one row per law.

    Parameters
    ----------
    lam : the ``min(m, n)`` squared singular values (raw, not divided by M), any order.
    m, n : PyTorch shape ``(n_rows, n_cols) = (out, in)`` of the weight (Eq. 13 uses it verbatim).
    tail : also fit the tail laws above the CSN ``xmin`` (rows with ``support == "tail"``).
    min_values : fewer positive values gives status ``too_few_values`` on every row.
    min_tail : smallest tail of the CSN scan.
    zero_rtol : values ``<= zero_rtol * max(lam)`` are zeros, excluded with a counted
        :class:`~sgdspectra.fitting.results.DroppedValuesWarning`; default
        ``(max(m, n) eps)**2``, numpy's numerical-rank rule applied to sigma.
    tw_alpha : level of the Tracy–Widom spike threshold of the MP row (None: above the edge).
    level : significance level of the ``lr_preferred`` decisions.

    The fits run with BLAS limited to one thread (see
    :func:`~sgdspectra.fitting.lawfit.single_threaded_blas`).

    Returns
    -------
    pandas.DataFrame with :data:`COMPARE_COLUMNS`; NaN/inf in ``lam`` gives status ``nonfinite``
    on every row (the message counts them); parameters are NaN unless the row is ``ok``.
    """
    m, n = int(m), int(n)
    if m < 1 or n < 1:
        raise ValueError(f"matrix dimensions must be >= 1, got ({m}, {n})")
    laws = SPECTRUM_LAWS + (TAIL_LAWS if tail else ())
    rtol = _default_zero_rtol(m, n) if zero_rtol is None else float(zero_rtol)
    x, n_zeros, bad = clean_values(lam, "compare_laws", rtol)
    fits: dict[str, LawFit]
    if bad or x.size < min_values:
        status = "nonfinite" if bad else "too_few_values"
        msg = bad or f"{x.size} positive value(s) < min_values={min_values}"
        logger.info("compare_laws (%d, %d): %s", m, n, msg)
        fits = {law: not_ok(law, status, msg, x.size, n_zeros, _N_PARAMS[law]) for law in laws}
    else:
        with single_threaded_blas():
            fits = {law: fit_spectrum_law(law, x, m, n, n_zeros, tw_alpha=tw_alpha,
                                          min_values=min_values) for law in SPECTRUM_LAWS}
            if tail:
                fits |= tail_fits(x, min_tail=min_tail)
        for law in TAIL_LAWS if tail else ():
            fits[law].n_zeros = n_zeros
    rows = []
    for law in laws:
        row = dict.fromkeys(COMPARE_COLUMNS, math.nan) | fits[law].to_row()
        row["support"] = "tail" if law in TAIL_LAWS else "spectrum"
        row.update(_lr_columns(law, fits, level))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
