"""Likelihood-ratio tests between two fitted laws (Vuong 1989; Clauset–Shalizi–Newman 2009).

``R = sum_i (l_a(x_i) - l_b(x_i))`` over the *same* values; ``R > 0`` favours law a.

- Non-nested (Vuong): with ``sigma**2`` the population variance of the pointwise differences,
  the normalised statistic ``R / (sqrt(n) sigma)`` is asymptotically N(0, 1) when both laws are
  equally close to the truth; two-sided ``p = erfc(|R| / sqrt(2 n sigma**2))``. A small ``p``
  means the sign of ``R`` is trustworthy.
- Nested (one law is a special case of the other): Wilks' theorem, ``2 |R| ~ chi2(1)`` under the
  smaller law, ``p = chi2.sf(2 |R|, 1)`` (as CSN do for power law vs truncated power law). When
  the smaller law sits on the *boundary* of the larger one's parameter space (cutoff rate -> 0;
  ``alpha_tail -> inf`` for gamma vs gamma-with-tail) the exact null law of ``2R`` is the
  mixture ``chi2(0)/2 + chi2(1)/2`` (Self & Liang 1987); the ``chi2(1)`` p-value used here is
  twice the mixture's, i.e. **conservative**: it rejects the smaller law less often than the
  nominal level. This is the documented approximation (no parametric bootstrap of the LR).

Eigenvalues of one matrix are not independent; both tests assume i.i.d. values, so their
p-values are indicative. Conventions and formulas agree with the ``powerlaw`` package's
``loglikelihood_ratio(..., normalized_ratio=True)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

logger = logging.getLogger(__name__)

__all__ = ["VuongResult", "vuong_test"]


@dataclass(frozen=True)
class VuongResult:
    """Result of :func:`vuong_test`.

    ``R``: log-likelihood ratio (``> 0`` favours ``law_a``); ``statistic``: ``R / (sqrt(n)
    sigma)``; ``p_value``; ``preferred``: the favoured law's name when ``p_value < level``,
    otherwise the simpler law for a nested test (the null is kept) or ``"none"``.
    """

    R: float
    statistic: float
    p_value: float
    preferred: str
    nested: bool
    n: int
    level: float
    law_a: str = "a"
    law_b: str = "b"

    def describe(self) -> str:
        """``"a vs b: R=…, p=…"`` (the summary string used in verdict tables)."""
        return f"{self.law_a} vs {self.law_b}: R={self.R:.4g}, p={self.p_value:.3g}"


def vuong_test(
    loglik_pointwise_a: npt.ArrayLike,
    loglik_pointwise_b: npt.ArrayLike,
    nested: bool = False,
    *,
    level: float = 0.1,
    law_a: str = "a",
    law_b: str = "b",
    simpler: str | None = None,
) -> VuongResult:
    """Normalised log-likelihood-ratio test of law a against law b on the same values.

    Parameters
    ----------
    loglik_pointwise_a, loglik_pointwise_b : per-value log-likelihoods (same length and order).
    nested : use Wilks' chi2(1) p-value (see the module docstring) instead of Vuong's normal one.
    level : significance level for ``preferred`` (0.1 by default, as in CSN).
    law_a, law_b : names used in ``preferred`` and :meth:`VuongResult.describe`.
    simpler : for a nested test, the name of the smaller law (kept when ``p >= level``).

    Non-finite pointwise values give ``R = ±inf`` or NaN and then NaN statistics with
    ``preferred = "none"`` unless exactly one law has an infinite deficit (that law loses).
    """
    a = np.asarray(loglik_pointwise_a, dtype=np.float64).ravel()
    b = np.asarray(loglik_pointwise_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"pointwise log-likelihoods differ in length: {a.size} vs {b.size}")
    if simpler is not None and simpler not in (law_a, law_b):
        raise ValueError(f"simpler must be {law_a!r} or {law_b!r}, got {simpler!r}")
    n = a.size
    nan = math.nan
    if n == 0:
        return VuongResult(nan, nan, nan, "none", nested, 0, level, law_a, law_b)
    with np.errstate(invalid="ignore"):
        diff = a - b
    if not np.all(np.isfinite(diff)):
        r = float(np.sum(diff)) if not np.any(np.isnan(diff)) else nan
        winner = (law_a if r > 0 else law_b) if math.isinf(r) else "none"
        logger.info("LR %s vs %s: non-finite pointwise log-likelihoods", law_a, law_b)
        return VuongResult(r, nan, 0.0 if winner != "none" else nan, winner, nested, n, level,
                           law_a, law_b)  # fmt: skip
    r = float(np.sum(diff))
    sd = float(np.std(diff))  # population variance, as CSN and the powerlaw package
    statistic = r / (math.sqrt(n) * sd) if sd > 0 else nan
    if nested:
        p = float(stats.chi2.sf(2.0 * abs(r), 1))
    else:
        p = float(special.erfc(abs(r) / (math.sqrt(2.0 * n) * sd))) if sd > 0 else 1.0
    if p < level and r != 0:
        preferred = law_a if r > 0 else law_b
    else:
        preferred = simpler if (nested and simpler is not None) else "none"
    return VuongResult(r, statistic, p, preferred, nested, n, level, law_a, law_b)
