"""Robust Marchenko–Pastur fit of a spectrum (the bulk of ``lam = sigma**2 / M``).

The MP variance is estimated by median matching, ``variance = median(lam) / m_q`` with ``m_q`` the
median of MP(1, q); the median barely moves when a few spikes separate from the bulk. The estimate
is then refined by re-matching the median of the values below a Tracy–Widom-widened edge
(``lam_plus`` plus 2.02 TW1 scale units, the 99 % point of TW1), iterated until the set of bulk
values stops changing; this removes the remaining drag of planted spikes without chasing the
finite-size fluctuations of the largest bulk eigenvalues.

``num_spikes`` counts the values above ``lam_plus`` (WeightWatcher's convention) or, with
``tw_alpha``, above the edge plus the TW1 ``1 - tw_alpha`` quantile. ``ks`` is the KS distance of
*all* positive values (bulk and spikes) against the fitted MP cdf, so spikes raise it by at most
``num_spikes / n_values``. ``loglik``/``aic`` are NaN: MP has compact support, so any value outside
it has likelihood 0 and the number would not be comparable with the other laws.

TW scale for ``lam = sigma**2 / M`` (Johnstone 2001, large M, N):
``variance * (1 + sqrt(q)) * (1/sqrt(M) + 1/sqrt(N))**(1/3) / sqrt(M)`` with ``N`` the number of
eigenvalues (zeros included) and ``M = N / q``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sgdspectra.fitting.results import FitResult, failed_result, ks_statistic, split_values
from sgdspectra.laws import mp_cdf, mp_edges, mp_quantile

logger = logging.getLogger(__name__)

__all__ = ["MPFit", "fit_marchenko_pastur", "tw_scale", "TW1_QUANTILES"]

LAW = "marchenko_pastur"
#: Upper quantiles of the Tracy–Widom (beta_dyson = 1) law, keyed by tail probability.
TW1_QUANTILES: dict[float, float] = {0.10: 0.45, 0.05: 0.98, 0.01: 2.02}
_REFINE_TAIL = 0.01
_MAX_REFINE = 50


@dataclass
class MPFit(FitResult):
    """Marchenko–Pastur fit. ``params``: variance, q, lambda_minus, lambda_plus, num_spikes."""

    @property
    def variance(self) -> float:
        """Fitted MP variance (NaN unless ok)."""
        return float(self.params.get("variance", math.nan))

    @property
    def q(self) -> float:
        """Aspect ratio ``N / M`` used (NaN unless ok)."""
        return float(self.params.get("q", math.nan))

    @property
    def lambda_minus(self) -> float:
        """Lower MP edge (NaN unless ok)."""
        return float(self.params.get("lambda_minus", math.nan))

    @property
    def lambda_plus(self) -> float:
        """Upper MP edge (NaN unless ok)."""
        return float(self.params.get("lambda_plus", math.nan))

    @property
    def num_spikes(self) -> float:
        """Number of values above the spike threshold (NaN unless ok)."""
        return float(self.params.get("num_spikes", math.nan))


def tw_scale(variance: float, q: float, n_eigenvalues: int) -> float:
    """Tracy–Widom fluctuation scale of the largest ``lam = sigma**2 / M`` (see module doc)."""
    n = float(n_eigenvalues)
    m = n / q
    return variance * (1.0 + math.sqrt(q)) * (m**-0.5 + n**-0.5) ** (1.0 / 3.0) / math.sqrt(m)


def _not_ok(status: str, message: str, n_values: int, n_zeros: int) -> MPFit:
    return MPFit(**vars(failed_result(LAW, status, message, n_values, n_zeros, n_params=1)))


def fit_marchenko_pastur(
    lam: npt.ArrayLike,
    q: float,
    min_values: int = 10,
    tw_alpha: float | None = None,
    refine: bool = True,
) -> MPFit:
    """Fit MP(variance, q) to ``lam = sigma**2 / M`` (q = N / M fixed by the shape).

    Parameters
    ----------
    lam : eigenvalues of ``W^T W / M``; values <= 0 are dropped with a counted warning.
    q : aspect ratio ``N / M`` in (0, 1].
    min_values : fewer positive values than this gives status ``too_few_values``.
    tw_alpha : if given (one of the keys of :data:`TW1_QUANTILES`), spikes are the values above
        ``lambda_plus + TW1_{1 - tw_alpha} * tw_scale``; otherwise above ``lambda_plus``.
    refine : re-match the median on the values below the TW-widened edge (see module doc).
    """
    q = float(q)
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q = N/M must lie in (0, 1], got {q!r}")
    if tw_alpha is not None and tw_alpha not in TW1_QUANTILES:
        raise ValueError(f"tw_alpha must be one of {sorted(TW1_QUANTILES)}, got {tw_alpha!r}")
    x, n_bad, n_zeros, msg = split_values(lam, LAW)
    if n_bad:
        return _not_ok("nonfinite", msg, x.size, n_zeros)
    if x.size < min_values:
        return _not_ok(
            "too_few_values", f"{x.size} positive value(s) < min_values={min_values}",
            x.size, n_zeros,
        )  # fmt: skip
    n_eig = x.size + n_zeros
    median_unit = float(mp_quantile(0.5, 1.0, q))
    variance = float(np.median(x)) / median_unit
    n_bulk = x.size
    for _ in range(_MAX_REFINE if refine else 0):
        edge = mp_edges(variance, q)[1] + TW1_QUANTILES[_REFINE_TAIL] * tw_scale(variance, q, n_eig)
        bulk = x[x <= edge]
        if bulk.size == n_bulk or bulk.size < min_values:
            break
        n_bulk = bulk.size
        variance = float(np.median(bulk)) / median_unit
    lo, hi = mp_edges(variance, q)
    threshold = hi
    if tw_alpha is not None:
        threshold += TW1_QUANTILES[tw_alpha] * tw_scale(variance, q, n_eig)
    num_spikes = int(np.count_nonzero(x > threshold))
    ks = ks_statistic(x, lambda v: mp_cdf(v, variance, q))
    logger.debug("MP fit: variance=%.6g q=%.4g spikes=%d ks=%.4g", variance, q, num_spikes, ks)
    params = {
        "variance": variance, "q": q, "lambda_minus": lo, "lambda_plus": hi,
        "num_spikes": num_spikes,
    }  # fmt: skip
    return MPFit(
        LAW, "ok", f"median matching on {n_bulk} bulk value(s)", n_values=x.size,
        n_zeros=n_zeros, n_params=1, ks=ks, params=params,
    )  # fmt: skip
