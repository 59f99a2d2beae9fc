"""Fit every law to one matrix's spectrum and return rows of the fit table."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from sgdspectra.fitting.mp import fit_marchenko_pastur
from sgdspectra.fitting.powerlaw import fit_power_law
from sgdspectra.fitting.results import LAWS, FitResult, failed_result
from sgdspectra.fitting.stationary import fit_eq13, fit_gamma_exact

logger = logging.getLogger(__name__)

__all__ = ["fit_spectrum", "fit_spectrum_results"]

#: Number of fitted parameters of each law (as the individual fitting functions report it).
_N_PARAMS = {"marchenko_pastur": 1, "power_law": 2, "eq13": 1, "gamma_exact": 1}


def fit_spectrum_results(
    sigma: npt.ArrayLike, n_rows: int, n_cols: int, min_tail: int = 10, min_values: int = 10
) -> list[FitResult]:
    """Fit the four laws of :data:`~sgdspectra.fitting.results.LAWS` to one spectrum.

    ``sigma`` holds the singular values of a weight of PyTorch shape ``(n_rows, n_cols)``; entries
    beyond ``N = min(n_rows, n_cols)`` are NaN padding and are ignored. If any of the first ``N``
    entries is non-finite, every law gets status ``nonfinite`` (the message counts them). Laws:

    - ``marchenko_pastur`` on ``sigma**2 / M`` with ``q = N / M``;
    - ``power_law`` (CSN tail fit, ``min_tail``) on ``sigma**2``;
    - ``eq13`` and ``gamma_exact`` (rate MLE with fixed shape) on ``sigma**2``.
    """
    n_rows, n_cols = int(n_rows), int(n_cols)
    if n_rows < 1 or n_cols < 1:
        raise ValueError(f"matrix dimensions must be >= 1, got ({n_rows}, {n_cols})")
    big, small = max(n_rows, n_cols), min(n_rows, n_cols)
    values = np.asarray(sigma, dtype=np.float64).ravel()
    if values.size < small:
        raise ValueError(
            f"expected at least N = min({n_rows}, {n_cols}) = {small} singular values, "
            f"got {values.size}"
        )
    sig = values[:small]
    n_bad = int(np.count_nonzero(~np.isfinite(sig)))
    if n_bad:
        msg = f"{n_bad} non-finite singular value(s) among {small}"
        logger.warning("fit_spectrum (%d, %d): %s", n_rows, n_cols, msg)
        n_pos = int(np.count_nonzero(np.isfinite(sig) & (sig > 0)))
        return [
            failed_result(law, "nonfinite", msg, n_values=n_pos, n_params=_N_PARAMS[law])
            for law in LAWS
        ]
    lam = sig**2
    return [
        fit_marchenko_pastur(lam / big, small / big, min_values=min_values),
        fit_power_law(lam, min_tail=min_tail, full_curves=False),
        fit_eq13(lam, n_rows, n_cols, min_values=min_values),
        fit_gamma_exact(lam, n_rows, n_cols, min_values=min_values),
    ]


def fit_spectrum(
    sigma: npt.ArrayLike, n_rows: int, n_cols: int, min_tail: int = 10, min_values: int = 10
) -> list[dict[str, Any]]:
    """Rows of the fit table (columns from ``law`` on) for one spectrum; see
    :func:`fit_spectrum_results`. The caller adds model, seed, matrix, kind, n_rows, n_cols, step.
    """
    return [r.to_row() for r in fit_spectrum_results(sigma, n_rows, n_cols, min_tail, min_values)]
