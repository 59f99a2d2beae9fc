"""Reference laws on ``lam``: Marchenko–Pastur, lognormal and exponential, as frozen laws.

- :class:`MarchenkoPastur` (variance, q) for ``lam / M``; ``SqrtLaw`` of it is MP in sigma and
  ``ScaledLaw(MarchenkoPastur(v, q), M)`` is MP on raw ``lam = sigma**2``.
- :class:`LogNormal` and :class:`Exponential`, optionally restricted to ``x >= xmin`` (the
  alternatives of the CSN tail comparisons: lognormal truncated at xmin, exponential shifted).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from sgdspectra.laws.base import FloatArray, Law, check_positive
from sgdspectra.laws.formulas import mp_cdf, mp_edges, mp_pdf, mp_quantile

logger = logging.getLogger(__name__)

__all__ = ["Exponential", "LogNormal", "MarchenkoPastur"]


def _arr(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


class MarchenkoPastur(Law):
    """Marchenko–Pastur law of ``lam / M`` (eigenvalues of ``W^T W / M``), variance v, ratio q."""

    name = "marchenko_pastur"

    def __init__(self, variance: float, q: float) -> None:
        self.lo, self.hi = mp_edges(variance, q)  # validates the parameters
        self.variance, self.q = float(variance), float(q)

    def params(self) -> dict[str, float]:
        """``variance``, ``q`` and the edges ``lambda_minus``, ``lambda_plus``."""
        return {"variance": self.variance, "q": self.q, "lambda_minus": self.lo,
                "lambda_plus": self.hi}  # fmt: skip

    @property
    def support(self) -> tuple[float, float]:
        """``(lambda_minus, lambda_plus)``."""
        return self.lo, self.hi

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``log mp_pdf``; ``-inf`` outside the support."""
        with np.errstate(divide="ignore"):
            return np.log(mp_pdf(_arr(x), self.variance, self.q))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Closed-form MP cdf."""
        return mp_cdf(_arr(x), self.variance, self.q)

    def mean(self) -> float:
        """The variance (the mean of ``lam / M``)."""
        return self.variance

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        # i.i.d. draws by inversion: no eigenvalue repulsion (not a Wishart spectrum)
        return mp_quantile(rng.random(size), self.variance, self.q)


class LogNormal(Law):
    """``log x ~ N(mu, sigma_log**2)``, truncated to ``x >= xmin`` when ``xmin > 0``."""

    name = "lognormal"

    def __init__(self, mu: float, sigma_log: float, xmin: float = 0.0) -> None:
        check_positive(sigma_log=sigma_log)
        if not (math.isfinite(mu) and math.isfinite(xmin) and xmin >= 0):
            raise ValueError(f"need finite mu and xmin >= 0, got mu={mu!r}, xmin={xmin!r}")
        self.mu, self.sigma_log, self.xmin = float(mu), float(sigma_log), float(xmin)
        self._log_sf_xmin = self._log_sf_untruncated(np.asarray(self.xmin)).item()
        if not math.isfinite(self._log_sf_xmin):
            raise ValueError(f"lognormal({mu}, {sigma_log}) has no mass above xmin={xmin}")

    def params(self) -> dict[str, float]:
        """``mu``, ``sigma_log`` (and ``xmin`` when truncated)."""
        out = {"mu": self.mu, "sigma_log": self.sigma_log}
        return out | ({"xmin": self.xmin} if self.xmin > 0 else {})

    @property
    def support(self) -> tuple[float, float]:
        """``(xmin, inf)``."""
        return self.xmin, math.inf

    def _z(self, x: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):
            return (np.log(x) - self.mu) / self.sigma_log

    def _log_sf_untruncated(self, x: FloatArray) -> FloatArray:
        return np.where(x > 0, stats.norm.logsf(self._z(np.maximum(x, 0.0))), 0.0)

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """Log density, renormalised by ``S(xmin)`` when truncated; ``-inf`` below xmin or <= 0."""
        xx = _arr(x)
        ok = (xx > 0) & (xx >= self.xmin)
        xs = np.where(ok, xx, 1.0)
        z = self._z(xs)
        out = -np.log(xs) - math.log(self.sigma_log) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z
        return np.where(ok, out - self._log_sf_xmin, -np.inf)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``S(x) / S(xmin)`` for ``x >= xmin`` (1 below)."""
        xx = _arr(x)
        ok = xx >= self.xmin
        return np.where(ok, np.exp(self._log_sf_untruncated(np.where(ok, xx, self.xmin))
                                   - self._log_sf_xmin), 1.0)  # fmt: skip

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``1 - sf``."""
        return 1.0 - self.sf(x)

    def mean(self) -> float:
        """``exp(mu + sigma**2/2) S_N((ln xmin - mu - sigma**2)/sigma) / S(xmin)`` (``inf`` on
        overflow)."""
        s2 = self.sigma_log**2
        log_mean = self.mu + 0.5 * s2
        if self.xmin > 0:
            shifted = stats.norm.logsf((math.log(self.xmin) - self.mu - s2) / self.sigma_log)
            log_mean += float(shifted) - self._log_sf_xmin
        return math.exp(log_mean) if log_mean < 709.0 else math.inf

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        # inversion of the survival function: S(x) = S(xmin) U
        log_sf = self._log_sf_xmin + np.log1p(-rng.random(size))
        return np.exp(self.mu + self.sigma_log * stats.norm.isf(np.exp(log_sf)))


class Exponential(Law):
    """``p(x) = rate exp(-rate (x - xmin))`` on ``x >= xmin`` (``xmin = 0``: plain exponential)."""

    name = "exponential"

    def __init__(self, rate: float, xmin: float = 0.0) -> None:
        check_positive(rate=rate)
        if not (math.isfinite(xmin) and xmin >= 0):
            raise ValueError(f"xmin must be finite and >= 0, got {xmin!r}")
        self.rate, self.xmin = float(rate), float(xmin)

    def params(self) -> dict[str, float]:
        """``rate`` (and ``xmin`` when shifted)."""
        return {"rate": self.rate} | ({"xmin": self.xmin} if self.xmin > 0 else {})

    @property
    def support(self) -> tuple[float, float]:
        """``(xmin, inf)``."""
        return self.xmin, math.inf

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``log rate - rate (x - xmin)`` on the support."""
        xx = _arr(x)
        inside = math.log(self.rate) - self.rate * (xx - self.xmin)
        return np.where(xx >= self.xmin, inside, -np.inf)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``exp(-rate (x - xmin))``, 1 below xmin."""
        xx = _arr(x)
        return np.exp(-self.rate * np.maximum(xx - self.xmin, 0.0))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``-expm1(-rate (x - xmin))``, 0 below xmin."""
        xx = _arr(x)
        return -np.expm1(-self.rate * np.maximum(xx - self.xmin, 0.0))

    def mean(self) -> float:
        """``xmin + 1 / rate``."""
        return self.xmin + 1.0 / self.rate

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.xmin + rng.exponential(1.0 / self.rate, size)
