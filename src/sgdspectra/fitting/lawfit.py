"""Result of fitting one frozen law, with its goodness-of-fit numbers, and input cleaning.

Every fit of :mod:`sgdspectra.fitting.mle` returns a :class:`LawFit`: status word (one of
:data:`~sgdspectra.fitting.results.STATUSES`), message, the number of values ``n`` it was fitted
to, and for an ``ok`` fit the frozen law, its parameters, the pointwise log-likelihoods and

- ``loglik`` = sum of ``logpdf``; ``aic = 2 n_params - 2 loglik``;
  ``bic = n_params ln(n) - 2 loglik``;
- ``ks``: Kolmogorov–Smirnov distance ``sup |F_n - F|`` (exact with ties);
- ``wasserstein1``: ``int |F_n(t) - F(t)| dt`` over the real line (same units as the data);
  ``inf`` when the law has an infinite mean (e.g. a power law with ``alpha <= 2``).

Eigenvalues of one matrix are not independent (they repel), so likelihoods treat them as an
i.i.d. sample of the one-particle law: a *descriptive* likelihood, not the joint one.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sgdspectra.fitting.results import STATUSES, ks_statistic, split_values
from sgdspectra.laws.base import FloatArray, Law

logger = logging.getLogger(__name__)

__all__ = ["LawFit", "clean_values", "finish_fit", "not_ok", "single_threaded_blas",
           "wasserstein1"]  # fmt: skip

_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_MIN_PIECES = 256  # integration pieces for W1 when the sample is small


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Context limiting BLAS to one thread (``threadpoolctl``; a no-op when it is missing).

    The fits work on arrays of a few hundred values, where BLAS threads only add wake-up
    overhead (measured 4-6x slower fits on a loaded 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _empty() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass
class LawFit:
    """Outcome of fitting one law to one sample (all numbers NaN unless ``status == "ok"``)."""

    law: str
    status: str
    message: str = ""
    n: int = 0
    n_zeros: int = 0
    n_params: int = 0
    loglik: float = math.nan
    ks: float = math.nan
    wasserstein1: float = math.nan
    params: dict[str, float] = field(default_factory=dict)
    dist: Law | None = None
    logpdf: FloatArray = field(default_factory=_empty)  # pointwise log-likelihoods, data order

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown fit status {self.status!r}; expected one of {STATUSES}")

    @property
    def ok(self) -> bool:
        """True when the fit succeeded."""
        return self.status == "ok"

    @property
    def aic(self) -> float:
        """``2 n_params - 2 loglik`` (NaN unless ok)."""
        return 2.0 * self.n_params - 2.0 * self.loglik if self.ok else math.nan

    @property
    def bic(self) -> float:
        """``n_params ln(n) - 2 loglik`` (NaN unless ok)."""
        return self.n_params * math.log(self.n) - 2.0 * self.loglik if self.ok else math.nan

    def to_row(self) -> dict[str, Any]:
        """Flat dict: the scalar fields and the parameters (NaN unless ok)."""
        row: dict[str, Any] = {"law": self.law, "status": self.status, "message": self.message,
                               "n": int(self.n), "n_zeros": int(self.n_zeros),
                               "n_params": int(self.n_params)}  # fmt: skip
        for name in ("loglik", "aic", "bic", "ks", "wasserstein1"):
            row[name] = float(getattr(self, name)) if self.ok else math.nan
        row.update({k: (float(v) if self.ok else math.nan) for k, v in self.params.items()})
        return row


def not_ok(law: str, status: str, message: str, n: int = 0, n_zeros: int = 0,
           n_params: int = 0) -> LawFit:  # fmt: skip
    """A non-ok :class:`LawFit` (logged at INFO)."""
    logger.info("%s fit: %s (%s)", law, status, message)
    return LawFit(law, status, message, n=n, n_zeros=n_zeros, n_params=n_params)


def clean_values(
    values: npt.ArrayLike, law: str, zero_rtol: float = 0.0
) -> tuple[FloatArray, int, str]:
    """Split input into positive values, the count of dropped zeros, and a non-finite message.

    :func:`~sgdspectra.fitting.results.split_values` with a zero tolerance: values
    ``<= zero_rtol * max(values)`` (and any value <= 0) are removed with a counted
    :class:`~sgdspectra.fitting.results.DroppedValuesWarning`. If any value is NaN/inf the
    message counts them (the caller reports status ``nonfinite``) and no values are returned.
    """
    x, n_bad, n_zeros, msg = split_values(values, law, zero_rtol, stacklevel=4)
    return (_empty(), 0, msg) if n_bad else (x, n_zeros, "")


def _split_at_crossings(
    law: Law, left: FloatArray, right: FloatArray, level: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Split each ``[left, right]`` where the (monotone) cdf crosses the constant ``level``.

    ``|level - F|`` has a kink there, which Gauss–Legendre would integrate poorly; the crossing
    is located by 60 vectorised bisection steps.
    """
    f_left, f_right = law.cdf(left), law.cdf(right)
    cross = (f_left < level) & (level < f_right)
    lo, hi, target = left[cross].copy(), right[cross].copy(), level[cross]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = law.cdf(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    mid = 0.5 * (lo + hi)
    return (np.concatenate([left[~cross], left[cross], mid]),
            np.concatenate([right[~cross], mid, right[cross]]),
            np.concatenate([level[~cross], target, target]))  # fmt: skip


def wasserstein1(values: npt.ArrayLike, law: Law) -> float:
    """Wasserstein-1 distance ``int |F_n(t) - F(t)| dt`` between a sample and a law.

    Piecewise: on each gap between consecutive sample points (and support edges) ``F_n`` is
    constant; the gap is split where ``F`` crosses that constant (and into equal parts for a
    sample of fewer than 256 values) and each piece is integrated by 8-point Gauss–Legendre.
    Beyond the largest value
    ``x_n`` the integral of the survival function follows from the mean,
    ``int_{x_n}^inf S = mean - low - int_low^{x_n} S`` (the last integral on the same nodes).
    ``inf`` when the law's mean is infinite.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size == 0:
        return math.nan
    mean = law.mean()
    if not math.isfinite(mean):
        return math.inf
    low, high = law.support
    extra = [v for v in (low, high) if v < x[-1]]  # integrate from min(low, x_1) to x_n
    pts = np.unique(np.concatenate([x, np.asarray(extra, dtype=np.float64)]))
    level = np.searchsorted(x, pts[:-1], side="right") / x.size  # F_n on (left, right)
    left, right, level = _split_at_crossings(law, pts[:-1], pts[1:], level)
    parts = -(-_MIN_PIECES // max(left.size, 1))  # short samples: resolve edge singularities
    if parts > 1:
        frac = np.arange(parts + 1) / parts
        cuts = left[:, None] + (right - left)[:, None] * frac[None, :]
        left, right = cuts[:, :-1].ravel(), cuts[:, 1:].ravel()
        level = np.repeat(level, parts)
    half = 0.5 * (right - left)
    nodes = 0.5 * (right + left)[:, None] + half[:, None] * _GL_X[None, :]
    weights = half[:, None] * _GL_W[None, :]
    cdf = law.cdf(nodes)
    body = float(np.sum(weights * np.abs(level[:, None] - cdf)))
    if low >= x[-1]:
        upper = mean - x[-1]
    else:
        inside = left >= low
        upper = mean - low - float(np.sum(weights[inside] * (1.0 - cdf[inside])))
    return body + max(upper, 0.0)


def finish_fit(
    law_name: str, x: FloatArray, dist: Law, n_params: int, message: str, n_zeros: int = 0,
) -> LawFit:  # fmt: skip
    """An ``ok`` :class:`LawFit` of ``dist`` to ``x`` with every goodness-of-fit number."""
    logp = np.asarray(dist.logpdf(x), dtype=np.float64)
    loglik = float(np.sum(logp))
    n = x.size
    fit = LawFit(
        law_name, "ok", message, n=n, n_zeros=n_zeros, n_params=n_params, loglik=loglik,
        ks=ks_statistic(x, dist.cdf), wasserstein1=wasserstein1(x, dist),
        params=dict(dist.params()), dist=dist, logpdf=logp,
    )  # fmt: skip
    logger.debug("%s: %s loglik=%.6g ks=%.4g", law_name, fit.params, loglik, fit.ks)
    return fit
