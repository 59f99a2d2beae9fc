"""Tracy–Widom (beta_dyson = 1) law of the largest eigenvalue and Johnstone's centring/scaling.

``F1(s) = det(I - K_s)`` on ``L2(0, inf)`` with kernel ``K_s(x, y) = Ai(x + y + s)`` (Ferrari and
Spohn 2005), evaluated by Bornemann's (2010) Nyström method with Gauss–Legendre nodes on a
truncated interval (``Ai`` decays like ``exp(-2/3 x**1.5)``), accurate to ~1e-12 for the upper
quantiles used here.

Johnstone (2001): for an ``M x N`` matrix (``M >= N``) with i.i.d. N(0, v) entries, the largest
eigenvalue ``l1`` of ``W^T W`` satisfies ``(l1 / v - mu) / sigma -> TW1`` with

    mu    = (sqrt(M - 1) + sqrt(N))**2
    sigma = (sqrt(M - 1) + sqrt(N)) (1/sqrt(M - 1) + 1/sqrt(N))**(1/3)
"""

from __future__ import annotations

import logging
import math
from functools import cache

import numpy as np
from scipy import optimize, special

logger = logging.getLogger(__name__)

__all__ = ["TW1_QUANTILES", "johnstone_centering", "tw1_cdf", "tw1_quantile"]

#: Upper quantiles ``s`` with ``P(TW1 > s) = level``, keyed by level (Tracy and Widom 1996;
#: reproduced by :func:`tw1_cdf` to 4 decimals in the tests).
TW1_QUANTILES: dict[float, float] = {0.10: 0.4501, 0.05: 0.9793, 0.01: 2.0234}
_NODES, _LENGTH = 48, 16.0


@cache
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(_NODES)
    return 0.5 * _LENGTH * (x + 1.0), 0.5 * _LENGTH * w


def tw1_cdf(s: float) -> float:
    """Tracy–Widom beta = 1 distribution function ``F1(s)`` (Fredholm determinant)."""
    x, w = _nodes()
    sw = np.sqrt(w)
    kernel = sw[:, None] * special.airy(x[:, None] + x[None, :] + float(s))[0] * sw[None, :]
    return float(np.clip(np.linalg.det(np.eye(x.size) - kernel), 0.0, 1.0))


def tw1_quantile(level: float) -> float:
    """``s`` with ``P(TW1 > s) = level`` for ``level`` in ``(1e-6, 0.9)`` (tabulated when known)."""
    level = float(level)
    if level in TW1_QUANTILES:
        return TW1_QUANTILES[level]
    if not 1e-6 < level < 0.9:
        raise ValueError(f"TW1 tail level must lie in (1e-6, 0.9), got {level!r}")
    return float(optimize.brentq(lambda s: 1.0 - tw1_cdf(s) - level, -3.5, 6.0, xtol=1e-10))


def johnstone_centering(m: float, n: float) -> tuple[float, float]:
    """``(mu, sigma)`` of Johnstone (2001) for ``M x N`` (any order; unit entry variance)."""
    big, small = max(float(m), float(n)), min(float(m), float(n))
    if small < 1 or big < 2:
        raise ValueError(f"Johnstone centring needs M >= 2 and N >= 1, got ({m}, {n})")
    a, b = math.sqrt(big - 1.0), math.sqrt(small)
    return (a + b) ** 2, (a + b) * (1.0 / a + 1.0 / b) ** (1.0 / 3.0)
