"""The common result object of every fit, and its row in the fit table.

The fit table (``docs/data-format.md``) has one row per (model, seed, matrix, step, law). The
caller supplies the first seven columns; :meth:`FitResult.to_row` supplies the rest, from ``law``
on. Every parameter (and ``loglik``, ``aic``, ``ks``) is NaN unless ``status == "ok"``; parameters
that do not apply to a law are NaN too. No sentinel values are ever used.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = [
    "FIT_COLUMNS",
    "LAWS",
    "PARAM_COLUMNS",
    "STATUSES",
    "DroppedValuesWarning",
    "FitResult",
    "failed_result",
    "ks_statistic",
    "split_values",
]

#: Allowed values of ``status``.
STATUSES: tuple[str, ...] = ("ok", "too_few_values", "degenerate", "nonfinite", "failed")
#: Laws written by :func:`sgdspectra.fitting.fit_spectrum`, in row order.
LAWS: tuple[str, ...] = ("marchenko_pastur", "power_law", "eq13", "gamma_exact")
#: Law-specific parameter columns, in table order.
PARAM_COLUMNS: tuple[str, ...] = (
    "alpha", "alpha_se", "xmin", "n_tail", "reliable",
    "variance", "q", "lambda_minus", "lambda_plus", "num_spikes",
    "shape", "rate",
)  # fmt: skip
#: Columns produced by :meth:`FitResult.to_row` (the fit table from ``law`` on).
FIT_COLUMNS: tuple[str, ...] = (
    "law", "status", "message", "n_values", "n_zeros", "n_params", "loglik", "aic", "ks",
    *PARAM_COLUMNS,
)  # fmt: skip


class DroppedValuesWarning(UserWarning):
    """Values <= 0 were removed before a fit (their count is in the message)."""


@dataclass
class FitResult:
    """Outcome of fitting one law to one spectrum.

    Attributes
    ----------
    law : name of the law (e.g. ``"eq13"``).
    status : one of :data:`STATUSES`.
    message : human-readable reason for a non-``ok`` status, or a short note.
    n_values : number of finite, strictly positive values handed to the law.
    n_zeros : number of values <= 0 that were dropped (exact zeros, e.g. rank deficiency).
    n_params : number of fitted parameters (used in ``aic``).
    loglik, aic, ks : log-likelihood, ``2 n_params - 2 loglik``, and Kolmogorov–Smirnov distance;
        see each fitting function for the exact set of values they refer to.
    params : law parameters keyed by names in :data:`PARAM_COLUMNS`.
    """

    law: str
    status: str
    message: str = ""
    n_values: int = 0
    n_zeros: int = 0
    n_params: int = 0
    loglik: float = math.nan
    aic: float = math.nan
    ks: float = math.nan
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown fit status {self.status!r}; expected one of {STATUSES}")
        unknown = set(self.params) - set(PARAM_COLUMNS)
        if unknown:
            raise ValueError(f"unknown fit parameters {sorted(unknown)} for law {self.law!r}")

    @property
    def ok(self) -> bool:
        """True when the fit succeeded."""
        return self.status == "ok"

    def to_row(self) -> dict[str, Any]:
        """Flat dict with every column of :data:`FIT_COLUMNS` (NaN where not applicable/not ok)."""
        row: dict[str, Any] = {
            "law": self.law,
            "status": self.status,
            "message": self.message,
            "n_values": int(self.n_values),
            "n_zeros": int(self.n_zeros),
            "n_params": int(self.n_params),
        }
        for name in ("loglik", "aic", "ks"):
            row[name] = float(getattr(self, name)) if self.ok else math.nan
        for name in PARAM_COLUMNS:
            row[name] = self.params.get(name, math.nan) if self.ok else math.nan
        return row


def failed_result(
    law: str, status: str, message: str, n_values: int = 0, n_zeros: int = 0, n_params: int = 0
) -> FitResult:
    """A non-``ok`` :class:`FitResult` with every number NaN (logs the reason at INFO)."""
    logger.info("%s fit: %s (%s)", law, status, message)
    return FitResult(law, status, message, n_values=n_values, n_zeros=n_zeros, n_params=n_params)


def split_values(
    values: npt.ArrayLike, law: str, zero_rtol: float = 0.0, stacklevel: int = 3
) -> tuple[npt.NDArray[np.float64], int, int, str]:
    """Validate input for a fit.

    Returns ``(positive, n_nonfinite, n_dropped, message)`` where ``positive`` holds the finite
    values > 0. When any value is non-finite, ``message`` counts them (the caller must then report
    status ``nonfinite``) and nothing is warned. Otherwise values ``<= zero_rtol * max(values)``
    (and any value <= 0) are treated as zeros: removed, counted in ``n_dropped``, and reported
    with a :class:`DroppedValuesWarning` (at ``stacklevel``) and a log line.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(x)
    bad = int(x.size - np.count_nonzero(finite))
    if bad:
        pos = x[finite]
        return pos[pos > 0], bad, 0, f"{bad} non-finite value(s) among {x.size}"
    tol = max(float(zero_rtol) * float(np.max(x)), 0.0) if x.size else 0.0
    keep = x > tol
    dropped = int(x.size - np.count_nonzero(keep))
    if dropped:
        zeros = " (zeros)" if tol > 0 else ""
        msg = f"{law}: dropped {dropped} value(s) <= {tol:.3g}{zeros} of {x.size} before fitting"
        warnings.warn(msg, DroppedValuesWarning, stacklevel=stacklevel)
        logger.warning(msg)
    return x[keep], 0, dropped, ""


def ks_statistic(
    values: npt.NDArray[np.float64],
    cdf: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> float:
    """One-sample Kolmogorov–Smirnov distance ``sup |F_n - F|`` against a continuous ``cdf``.

    Exact with ties: with sorted values, ``max_i max(i/n - F(x_i), F(x_i) - (i-1)/n)``.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    if n == 0:
        return math.nan
    f = np.asarray(cdf(x), dtype=np.float64)
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(max(np.max(i / n - f), np.max(f - (i - 1.0) / n)))
