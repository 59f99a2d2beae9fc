"""Tail laws above ``xmin``: the power law and the power law with an exponential cutoff.

Both use the density exponent ``alpha`` of ``lam`` (WeightWatcher/CSN convention):

- :class:`PowerLaw`: ``p(x) = (alpha - 1)/xmin (x/xmin)**(-alpha)``, ``x >= xmin``, ``alpha > 1``.
- :class:`TruncatedPowerLaw`: ``p(x) = x**(-alpha) exp(-rate x) / Z`` on ``x >= xmin`` with
  ``Z = xmin**(1-alpha) exp(-rate xmin) J(alpha, rate xmin)`` and
  ``J(alpha, z) = int_0^inf (1 + v)**(-alpha) exp(-z v) dv
  = int_0^inf exp((1-alpha) t - z(e**t - 1)) dt``.
  The second form has a smooth, log-concave integrand; it is integrated by composite
  Gauss–Legendre quadrature on ``[0, t_max]`` with ``t_max`` where the exponent has dropped by
  60 below its maximum (relative truncation error < 1e-26), in log space, vectorised over ``z``.
  Parameters: ``alpha > 0`` with ``rate > 0``, or ``alpha > 1`` with ``rate = 0`` (a power law).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt

from sgdspectra.laws.base import FloatArray, Law, check_positive

logger = logging.getLogger(__name__)

__all__ = ["PowerLaw", "TruncatedPowerLaw", "log_tpl_integral"]

_DROP = 60.0  # truncate the J integral where its exponent is this far below the maximum
_PANELS, _NODES = 16, 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)


def _arr(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _check_xmin(xmin: float) -> float:
    check_positive(xmin=xmin)
    return float(xmin)


class PowerLaw(Law):
    """Continuous power law above ``xmin`` with density exponent ``alpha > 1``."""

    name = "power_law"

    def __init__(self, alpha: float, xmin: float) -> None:
        if not (math.isfinite(alpha) and alpha > 1):
            raise ValueError(f"power law needs a finite alpha > 1, got {alpha!r}")
        self.alpha, self.xmin = float(alpha), _check_xmin(xmin)

    def params(self) -> dict[str, float]:
        """``alpha`` and ``xmin``."""
        return {"alpha": self.alpha, "xmin": self.xmin}

    @property
    def support(self) -> tuple[float, float]:
        """``(xmin, inf)``."""
        return self.xmin, math.inf

    def _log_ratio(self, x: FloatArray) -> FloatArray:
        ok = x >= self.xmin
        return np.where(ok, np.log1p((np.where(ok, x, self.xmin) - self.xmin) / self.xmin), 0.0)

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``log((alpha-1)/xmin) - alpha log(x/xmin)`` on ``x >= xmin``."""
        xx = _arr(x)
        out = math.log(self.alpha - 1.0) - math.log(self.xmin) - self.alpha * self._log_ratio(xx)
        return np.where(xx >= self.xmin, out, -np.inf)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``(x/xmin)**(1-alpha)``, 1 below xmin."""
        return np.exp((1.0 - self.alpha) * self._log_ratio(_arr(x)))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``1 - (x/xmin)**(1-alpha)``, 0 below xmin."""
        return -np.expm1((1.0 - self.alpha) * self._log_ratio(_arr(x)))

    def mean(self) -> float:
        """``xmin (alpha-1)/(alpha-2)``, ``inf`` for ``alpha <= 2``."""
        return self.xmin * (self.alpha - 1.0) / (self.alpha - 2.0) if self.alpha > 2 else math.inf

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.xmin * np.exp(-np.log1p(-rng.random(size)) / (self.alpha - 1.0))


def _t_max(alpha: float, z: FloatArray) -> FloatArray:
    """Upper limit of the J integral: the exponent is ``_DROP`` below its maximum beyond it."""
    if alpha > 1:
        with np.errstate(divide="ignore"):
            by_power = _DROP / (alpha - 1.0)
            by_exp = np.where(z > 0, np.log1p(_DROP / np.where(z > 0, z, 1.0)), np.inf)
        return np.minimum(by_power, by_exp)
    # alpha <= 1 (z > 0 required): exponent g(t) = (1-alpha) t - z (e^t - 1) peaks at t*
    c = 1.0 - alpha
    t_star = np.where(c > z, np.log(np.maximum(c, 1e-300) / z), 0.0)
    g_star = c * t_star - z * np.expm1(t_star)
    t = np.log1p(_DROP / z) + t_star
    for _ in range(8):  # fixed point of z (e^t - 1) = DROP - g* + c t (converges: log growth)
        t = np.log1p((_DROP - g_star + c * t) / z)
    return np.maximum(t, t_star)


def log_tpl_integral(alpha: float, z: npt.ArrayLike) -> FloatArray:
    """``log J(alpha, z)`` (see the module docstring) for ``z >= 0``; ``alpha > 1`` if ``z = 0``."""
    zz = _arr(z).ravel()
    if np.any(zz < 0) or (alpha <= 1 and np.any(zz == 0)):
        raise ValueError("J(alpha, z) needs z >= 0, and z > 0 when alpha <= 1")
    t_max = _t_max(float(alpha), zz)  # (nz,)
    edges = np.linspace(0.0, 1.0, _PANELS + 1)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    unit = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()  # nodes on [0, 1]
    weights = (half[:, None] * _GL_W[None, :]).ravel()
    t = t_max[:, None] * unit[None, :]  # (nz, nodes)
    g = (1.0 - alpha) * t - zz[:, None] * np.expm1(t)
    g_max = g.max(axis=1, keepdims=True)
    total = np.sum(weights[None, :] * np.exp(g - g_max), axis=1)
    out = g_max[:, 0] + np.log(total * t_max)
    return out.reshape(np.shape(z))


class TruncatedPowerLaw(Law):
    """Power law with exponential cutoff above ``xmin``: ``p ∝ x**(-alpha) exp(-rate x)``."""

    name = "truncated_power_law"

    def __init__(self, alpha: float, rate: float, xmin: float) -> None:
        self.xmin = _check_xmin(xmin)
        if not (math.isfinite(alpha) and math.isfinite(rate) and rate >= 0):
            raise ValueError(f"need finite alpha and rate >= 0, got {alpha!r}, {rate!r}")
        if alpha <= (1.0 if rate == 0 else 0.0):
            raise ValueError(f"need alpha > 0 (alpha > 1 when rate = 0), got alpha={alpha!r}")
        self.alpha, self.rate = float(alpha), float(rate)
        self._log_z = ((1.0 - self.alpha) * math.log(self.xmin) - self.rate * self.xmin
                       + float(log_tpl_integral(self.alpha, self.rate * self.xmin)))  # fmt: skip

    def params(self) -> dict[str, float]:
        """``alpha``, ``rate`` (cutoff) and ``xmin``."""
        return {"alpha": self.alpha, "rate": self.rate, "xmin": self.xmin}

    @property
    def support(self) -> tuple[float, float]:
        """``(xmin, inf)``."""
        return self.xmin, math.inf

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``-alpha log x - rate x - log Z`` on ``x >= xmin``."""
        xx = _arr(x)
        ok = xx >= self.xmin
        xs = np.where(ok, xx, self.xmin)
        return np.where(ok, -self.alpha * np.log(xs) - self.rate * xs - self._log_z, -np.inf)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``x**(1-alpha) e**(-rate x) J(alpha, rate x) / Z``, 1 below xmin."""
        xx = _arr(x)
        xs = np.maximum(xx, self.xmin)
        log_s = ((1.0 - self.alpha) * np.log(xs) - self.rate * xs
                 + log_tpl_integral(self.alpha, self.rate * xs) - self._log_z)  # fmt: skip
        return np.minimum(np.exp(log_s), 1.0)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``1 - sf``."""
        return 1.0 - self.sf(x)

    def mean(self) -> float:
        """``Z(alpha - 1) / Z(alpha) = xmin J(alpha - 1, z) / J(alpha, z)``, ``z = rate xmin``."""
        if self.rate == 0:
            return PowerLaw(self.alpha, self.xmin).mean()
        z = self.rate * self.xmin
        return self.xmin * math.exp(float(log_tpl_integral(self.alpha - 1.0, z))
                                    - float(log_tpl_integral(self.alpha, z)))  # fmt: skip

    def _log_acceptance(self) -> tuple[float, float]:
        """Log acceptance rates of the shifted-exponential and pure power-law proposals."""
        log_exp = (math.log(self.rate) + self._log_z + self.alpha * math.log(self.xmin)
                   + self.rate * self.xmin) if self.rate > 0 else -math.inf  # fmt: skip
        log_pl = (math.log(self.alpha - 1.0) + self._log_z + self.rate * self.xmin
                  + (self.alpha - 1.0) * math.log(self.xmin)) if self.alpha > 1 else -math.inf
        return log_exp, log_pl

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        # rejection sampling from whichever proposal accepts more often (both envelopes are exact
        # bounds: x**(-alpha) <= xmin**(-alpha) for alpha > 0, exp(-rate x) <= exp(-rate xmin))
        log_exp, log_pl = self._log_acceptance()
        use_exp = log_exp >= log_pl
        out = np.empty(0)
        while out.size < size:
            want = 1.2 * (size - out.size) / math.exp(max(log_exp, log_pl))
            n = min(1 << 20, max(16, int(want)))
            u = rng.random(n)
            if use_exp:
                x = self.xmin + rng.exponential(1.0 / self.rate, n)
                accept = np.log(u) <= -self.alpha * np.log(x / self.xmin)
            else:
                x = self.xmin * np.exp(-np.log1p(-rng.random(n)) / (self.alpha - 1.0))
                accept = np.log(u) <= -self.rate * (x - self.xmin)
            out = np.concatenate([out, x[accept]])
        return out[:size]
