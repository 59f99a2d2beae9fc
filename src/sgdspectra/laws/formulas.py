"""Closed-form densities of squared singular values, as plain vectorised functions.

All functions take and return float64 numpy arrays (scalars broadcast) and never mutate their
inputs. Conventions follow ``docs/data-format.md``:

- Marchenko–Pastur (MP) laws are written for ``lam = sigma**2 / M`` with ``q = N / M <= 1``
  (``M = max(n_rows, n_cols)``, ``N = min(n_rows, n_cols)``); an i.i.d. matrix with entry variance
  ``v`` has MP variance ``v`` and edges ``v * (1 -+ sqrt(q))**2``.
- ``eq13_*`` functions implement the paper's "Equation 13" verbatim, in PyTorch orientation
  ``(n_rows, n_cols) = (out, in)``; ``gamma_exact_shape`` is the exact one-particle (Wishart) shape
  in the analysis orientation (symmetric in its arguments).
- The power-law density uses the density exponent ``alpha`` of ``lam`` (WeightWatcher convention).
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy import special

logger = logging.getLogger(__name__)

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

__all__ = [
    "eq13_shape",
    "eq13_sigma_pdf",
    "gamma_exact_shape",
    "mp_cdf",
    "mp_edges",
    "mp_pdf",
    "mp_quantile",
    "mp_sigma_pdf",
    "power_law_cdf",
    "power_law_pdf",
]

_QUANTILE_BISECTIONS = 64  # halves [0, pi] down to below one ulp of pi


def _check_mp_params(variance: float, q: float) -> tuple[float, float]:
    variance = float(variance)
    q = float(q)
    if not (np.isfinite(variance) and variance > 0):
        raise ValueError(f"MP variance must be finite and > 0, got {variance!r}")
    if not (0.0 < q <= 1.0):
        raise ValueError(f"MP ratio q = N/M must lie in (0, 1], got {q!r}")
    return variance, q


def mp_edges(variance: float, q: float) -> tuple[float, float]:
    """Return the support ``(lam_minus, lam_plus) = variance * (1 -+ sqrt(q))**2`` of MP."""
    variance, q = _check_mp_params(variance, q)
    rq = np.sqrt(q)
    return variance * (1.0 - rq) ** 2, variance * (1.0 + rq) ** 2


def mp_pdf(lam: ArrayLike, variance: float, q: float) -> FloatArray:
    """Marchenko–Pastur density ``sqrt((l+ - lam)(lam - l-)) / (2 pi variance q lam)``.

    Zero outside ``[lam_minus, lam_plus]``. For ``q = 1`` the density diverges like
    ``lam**-0.5`` at 0 (it is still integrable); ``mp_pdf(0, v, 1)`` returns ``inf``.
    """
    variance, q = _check_mp_params(variance, q)
    lo, hi = mp_edges(variance, q)
    x = np.asarray(lam, dtype=np.float64)
    inside = (x >= lo) & (x <= hi) & (x > 0)
    xs = np.where(inside, x, 0.5 * (lo + hi))  # a safe dummy point outside the support
    dens = np.sqrt(np.maximum((hi - xs) * (xs - lo), 0.0)) / (2.0 * np.pi * variance * q * xs)
    out = np.where(inside, dens, 0.0)
    if q == 1.0:
        out = np.where(x == 0.0, np.inf, out)
    return out


def mp_cdf(lam: ArrayLike, variance: float, q: float) -> FloatArray:
    """Marchenko–Pastur cumulative distribution function, in closed form.

    With the substitution ``lam = c - r cos(theta)`` (``c = variance (1 + q)``,
    ``r = 2 variance sqrt(q)``, ``theta`` in ``[0, pi]``) the integrand becomes
    ``(2 variance / pi) sin(t)**2 / (c - r cos t)``, whose integral is elementary::

        F = (2v/pi) [ sin(th)/r + c th / r**2
                      - (2 sqrt(l+ l-) / r**2) atan2(sqrt(l+) sin(th/2), sqrt(l-) cos(th/2)) ]

    This form stays exact at ``q = 1`` (where ``l- = 0`` and the last term vanishes).
    """
    variance, q = _check_mp_params(variance, q)
    x = np.asarray(lam, dtype=np.float64)
    lo, hi = mp_edges(variance, q)
    f = _mp_cdf_theta(_theta_of_lam(x, variance, q), variance, q)
    return np.where(x >= hi, 1.0, np.where(x <= lo, 0.0, f))


def _theta_of_lam(x: FloatArray, variance: float, q: float) -> FloatArray:
    c = variance * (1.0 + q)
    r = 2.0 * variance * np.sqrt(q)
    return np.arccos(np.clip((c - x) / r, -1.0, 1.0))


def _mp_cdf_theta(theta: FloatArray, variance: float, q: float) -> FloatArray:
    lo, hi = mp_edges(variance, q)
    c = variance * (1.0 + q)
    r = 2.0 * variance * np.sqrt(q)
    atan = np.arctan2(np.sqrt(hi) * np.sin(theta / 2.0), np.sqrt(lo) * np.cos(theta / 2.0))
    f = (2.0 * variance / np.pi) * (
        np.sin(theta) / r + c * theta / r**2 - 2.0 * np.sqrt(hi * lo) / r**2 * atan
    )
    return np.clip(f, 0.0, 1.0)


def mp_quantile(p: ArrayLike, variance: float, q: float) -> FloatArray:
    """Inverse of :func:`mp_cdf`: the ``lam`` with ``mp_cdf(lam) = p`` for ``p`` in ``[0, 1]``.

    Solved by vectorised bisection on ``theta`` in ``[0, pi]`` (the cdf is strictly increasing in
    ``theta``), to full double precision. ``p`` outside ``[0, 1]`` or NaN gives NaN.
    """
    variance, q = _check_mp_params(variance, q)
    pp = np.asarray(p, dtype=np.float64)
    valid = (pp >= 0.0) & (pp <= 1.0)
    target = np.where(valid, pp, 0.5)
    lo_t = np.zeros_like(target)
    hi_t = np.full_like(target, np.pi)
    for _ in range(_QUANTILE_BISECTIONS):
        mid = 0.5 * (lo_t + hi_t)
        below = _mp_cdf_theta(mid, variance, q) < target
        lo_t = np.where(below, mid, lo_t)
        hi_t = np.where(below, hi_t, mid)
    theta = 0.5 * (lo_t + hi_t)
    c = variance * (1.0 + q)
    r = 2.0 * variance * np.sqrt(q)
    lam = np.maximum(c - r * np.cos(theta), 0.0)
    return np.where(valid, lam, np.nan)


def mp_sigma_pdf(sigma: ArrayLike, variance: float, q: float) -> FloatArray:
    """Density of ``sigma = sqrt(lam)`` when ``lam`` is MP: ``2 sigma mp_pdf(sigma**2)``.

    Finite everywhere, also at ``q = 1`` (where it tends to ``1 / (pi sqrt(variance))`` at 0).
    """
    s = np.asarray(sigma, dtype=np.float64)
    pos = s > 0
    ss = np.where(pos, s, 1.0)
    dens = 2.0 * ss * mp_pdf(ss**2, variance, q)
    out = np.where(pos, dens, 0.0)
    if float(q) == 1.0:
        out = np.where(s == 0.0, 1.0 / (np.pi * np.sqrt(float(variance))), out)
    return out


def eq13_shape(n_rows: int, n_cols: int) -> float:
    """Shape ``(n_rows - n_cols + 3) / 4`` of the paper's Eq. 13 (PyTorch orientation, verbatim).

    Raises
    ------
    ValueError
        When ``n_rows - n_cols + 3 <= 0``: Eq. 13 is not a density there (e.g. ``nn.Linear(1024,
        10)``, whose weight is 10 x 1024). Fitting code reports such layers as ``degenerate``.
    """
    k = (int(n_rows) - int(n_cols) + 3) / 4.0
    if k <= 0:
        raise ValueError(
            f"Eq. 13 is undefined for n_rows={n_rows}, n_cols={n_cols}: "
            f"n_rows - n_cols + 3 = {int(n_rows) - int(n_cols) + 3} <= 0"
        )
    return k


def gamma_exact_shape(n_rows: int, n_cols: int) -> float:
    """Exact one-particle Wishart shape ``(M - N + 1) / 2`` with ``M = max``, ``N = min`` (> 0)."""
    big, small = max(int(n_rows), int(n_cols)), min(int(n_rows), int(n_cols))
    if small < 1:
        raise ValueError(f"matrix dimensions must be >= 1, got ({n_rows}, {n_cols})")
    return (big - small + 1) / 2.0


def eq13_sigma_pdf(
    sigma: ArrayLike, n_rows: int, n_cols: int, eta: float, D: float, beta: float
) -> FloatArray:
    """The paper's Eq. 13, verbatim, for a layer stored as ``(n_rows, n_cols)`` by PyTorch::

        p(sigma) = 2 (beta/(4 eta D))**k sigma**(2k - 1) / Gamma(k) * exp(-beta sigma**2/(4 eta D))

    with ``k = (n_rows - n_cols + 3) / 4``, for ``sigma > 0`` (0 elsewhere). Equivalently
    ``lam = sigma**2 ~ Gamma(shape k, rate beta / (4 eta D))``. Evaluated in log space.
    Raises ``ValueError`` when ``k <= 0`` (see :func:`eq13_shape`) or a scale parameter is not > 0.
    """
    k = eq13_shape(n_rows, n_cols)
    for name, val in (("eta", eta), ("D", D), ("beta", beta)):
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"Eq. 13 needs {name} > 0, got {val!r}")
    rate = float(beta) / (4.0 * float(eta) * float(D))
    s = np.asarray(sigma, dtype=np.float64)
    pos = s > 0
    ss = np.where(pos, s, 1.0)
    logp = (
        np.log(2.0)
        + k * np.log(rate)
        + (2.0 * k - 1.0) * np.log(ss)
        - special.gammaln(k)
        - rate * ss**2
    )
    return np.where(pos, np.exp(logp), 0.0)


def _log_ratio(x: FloatArray, xmin: float) -> FloatArray:
    """``ln(x / xmin)`` for ``x >= xmin``, accurate also when ``x`` is within a few ulps of xmin."""
    out = np.log(x) - np.log(xmin)
    close = out < 0.5
    out[close] = np.log1p((x[close] - xmin) / xmin)
    return out


def power_law_pdf(x: ArrayLike, alpha: float, xmin: float) -> FloatArray:
    """Continuous power-law density ``(alpha - 1)/xmin * (x/xmin)**(-alpha)`` on ``x >= xmin``."""
    if not (alpha > 1 and xmin > 0):
        raise ValueError(f"power law needs alpha > 1 and xmin > 0, got {alpha!r}, {xmin!r}")
    xx = np.asarray(x, dtype=np.float64)
    inside = xx >= xmin
    xs = np.where(inside, xx, xmin)
    log_pdf = np.log(alpha - 1.0) - np.log(xmin) - alpha * _log_ratio(np.atleast_1d(xs), xmin)
    return np.where(inside, np.exp(log_pdf).reshape(xs.shape), 0.0)


def power_law_cdf(x: ArrayLike, alpha: float, xmin: float) -> FloatArray:
    """Continuous power-law cdf ``1 - (x / xmin)**(1 - alpha)`` on ``x >= xmin`` (0 below)."""
    if not (alpha > 1 and xmin > 0):
        raise ValueError(f"power law needs alpha > 1 and xmin > 0, got {alpha!r}, {xmin!r}")
    xx = np.asarray(x, dtype=np.float64)
    inside = xx >= xmin
    xs = np.where(inside, xx, xmin)
    cdf = -np.expm1((1.0 - alpha) * _log_ratio(np.atleast_1d(xs), xmin))
    return np.where(inside, cdf.reshape(xs.shape), 0.0)
