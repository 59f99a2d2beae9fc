"""Gamma laws with a fixed shape for the squared singular values ``lam = sigma**2``.

Both stationary candidates are gamma laws with a shape fixed by the layer's dimensions and one free
rate (location fixed at 0: an ESD law lives on ``lam >= 0``; a free location would be pinned at the
data minimum, see CASES 17):

- ``eq13``: the paper's Eq. 13, shape ``(n_rows - n_cols + 3) / 4`` in PyTorch orientation,
  undefined (status ``degenerate``) when ``n_rows - n_cols + 3 <= 0``;
- ``gamma_exact``: the exact one-particle Wishart law, shape ``(M - N + 1) / 2``.

With the shape ``k`` fixed, the rate MLE is closed form, ``rate = k / mean(lam)`` (the
moment-based value *is* the MLE, so there is no iteration whose convergence could fail).
``loglik`` is the full log-likelihood of all positive values, ``aic = 2 - 2 loglik``
(``n_params = 1``), ``ks`` the KS distance of all positive values against the fitted gamma cdf.
Exact zeros (and any value <= 0) are excluded with a counted warning.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from sgdspectra.fitting.results import FitResult, failed_result, ks_statistic, split_values
from sgdspectra.laws import eq13_shape, gamma_exact_shape

logger = logging.getLogger(__name__)

__all__ = ["fit_eq13", "fit_gamma_exact", "fit_gamma_fixed_shape"]


def fit_gamma_fixed_shape(
    lam: npt.ArrayLike, shape: float, law_name: str, min_values: int = 10
) -> FitResult:
    """Maximum-likelihood rate of ``Gamma(shape, rate)`` (location 0) with ``shape`` fixed.

    Returns a :class:`FitResult` with ``params = {"shape": shape, "rate": rate}``; status
    ``nonfinite`` (any NaN/inf in ``lam``), ``too_few_values`` (fewer than ``min_values`` positive
    values) or ``ok``. ``shape`` must be finite and > 0.
    """
    if not (math.isfinite(shape) and shape > 0):
        raise ValueError(f"gamma shape must be finite and > 0, got {shape!r}")
    x, n_bad, n_zeros, msg = split_values(lam, law_name)
    if n_bad:
        return failed_result(law_name, "nonfinite", msg, x.size, n_zeros, n_params=1)
    if x.size < min_values:
        return failed_result(
            law_name, "too_few_values", f"{x.size} positive value(s) < min_values={min_values}",
            x.size, n_zeros, n_params=1,
        )  # fmt: skip
    rate = shape / float(np.mean(x))
    law = stats.gamma(shape, loc=0.0, scale=1.0 / rate)
    loglik = float(np.sum(law.logpdf(x)))
    ks = ks_statistic(x, law.cdf)
    logger.debug("%s: shape=%.6g rate=%.6g loglik=%.6g ks=%.4g", law_name, shape, rate, loglik, ks)
    return FitResult(
        law_name, "ok", "closed-form rate MLE (shape fixed, location 0)", n_values=x.size,
        n_zeros=n_zeros, n_params=1, loglik=loglik, aic=2.0 - 2.0 * loglik, ks=ks,
        params={"shape": float(shape), "rate": rate},
    )  # fmt: skip


def fit_eq13(lam: npt.ArrayLike, n_rows: int, n_cols: int, min_values: int = 10) -> FitResult:
    """Fit the paper's Eq. 13 law (gamma, shape ``(n_rows - n_cols + 3)/4``) to ``lam = sigma**2``.

    ``(n_rows, n_cols)`` is the PyTorch shape ``(out, in)``, used verbatim as in the paper. When
    ``n_rows - n_cols + 3 <= 0`` the law is undefined and the status is ``degenerate``.
    """
    try:
        shape = eq13_shape(n_rows, n_cols)
    except ValueError as err:
        x = np.asarray(lam, dtype=np.float64).ravel()
        finite = x[np.isfinite(x)]
        n_pos, n_zeros = int(np.count_nonzero(finite > 0)), int(np.count_nonzero(finite <= 0))
        if finite.size < x.size:
            msg = f"{x.size - finite.size} non-finite value(s) among {x.size}"
            return failed_result("eq13", "nonfinite", msg, n_pos, n_zeros, n_params=1)
        return failed_result(
            "eq13", "degenerate", f"{err} (Eq. 13 shape (n_rows - n_cols + 3)/4 must be > 0)",
            n_pos, n_zeros, n_params=1,
        )  # fmt: skip
    return fit_gamma_fixed_shape(lam, shape, "eq13", min_values=min_values)


def fit_gamma_exact(
    lam: npt.ArrayLike, n_rows: int, n_cols: int, min_values: int = 10
) -> FitResult:
    """Fit the exact one-particle Wishart law, Gamma(shape ``(M - N + 1)/2``), to ``sigma**2``."""
    return fit_gamma_fixed_shape(
        lam, gamma_exact_shape(n_rows, n_cols), "gamma_exact", min_values=min_values
    )
