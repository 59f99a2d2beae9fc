"""The common interface of every probability law in :mod:`sgdspectra.laws`.

A :class:`Law` is a *frozen* one-dimensional continuous distribution (all parameters fixed), in the
spirit of a frozen ``scipy.stats`` object, with the few methods the fitting code needs:
``logpdf``, ``pdf``, ``cdf``, ``sf``, ``loglik`` (sum of ``logpdf``), ``rvs`` (sampling from an
explicit seed or :class:`numpy.random.Generator`), ``mean`` and ``support``. Densities are
evaluated in log space; ``logpdf`` is ``-inf`` outside the support (never NaN for a finite input),
``cdf`` is 0 below and 1 above it.
"""

from __future__ import annotations

import logging
import math
import warnings
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy import integrate

logger = logging.getLogger(__name__)

__all__ = ["FloatArray", "Law", "ScaledLaw", "SeedLike", "SqrtLaw", "as_generator"]

FloatArray = npt.NDArray[np.float64]
#: Anything :func:`numpy.random.default_rng` accepts (``None`` draws fresh OS entropy).
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a seed or seed sequence (a generator is returned)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` unless every keyword value is finite and > 0."""
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")


class Law(ABC):
    """A frozen continuous law on (part of) the real line.

    Subclasses implement :meth:`logpdf`, :meth:`cdf`, :meth:`_draw`, :attr:`support` and
    :meth:`params`; the rest has generic defaults (``sf = 1 - cdf``, ``mean`` by quadrature of
    the survival function) that subclasses override when a closed form exists.
    """

    #: Short name of the law, used as the ``law`` column of fit tables.
    name: ClassVar[str] = "law"

    @abstractmethod
    def params(self) -> dict[str, float]:
        """The law's parameters by name."""

    @property
    @abstractmethod
    def support(self) -> tuple[float, float]:
        """Closed support ``(low, high)``; ``high`` may be ``inf``."""

    @abstractmethod
    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """Log density; ``-inf`` outside the support."""

    @abstractmethod
    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Cumulative distribution function."""

    @abstractmethod
    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` independent draws using ``rng``."""

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """Survival function ``1 - cdf`` (overridden where a more accurate form exists)."""
        return 1.0 - self.cdf(x)

    def pdf(self, x: npt.ArrayLike) -> FloatArray:
        """Density ``exp(logpdf)``."""
        return np.exp(self.logpdf(x))

    def loglik(self, x: npt.ArrayLike) -> float:
        """Log-likelihood ``sum(logpdf(x))`` (``-inf`` if a value is off the support)."""
        return float(np.sum(self.logpdf(x)))

    def rvs(self, size: int, seed: SeedLike = None) -> FloatArray:
        """``size`` independent draws; ``seed`` is an int, a SeedSequence or a Generator."""
        size = int(size)
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        return np.asarray(self._draw(as_generator(seed), size), dtype=np.float64)

    def mean(self) -> float:
        """Mean, ``low + integral of sf`` over the support (``inf`` when that diverges)."""
        low, high = self.support
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            value, err = integrate.quad(lambda t: float(self.sf(t)), low, high, limit=200)
        if not math.isfinite(value) or err > 1e-3 * max(abs(value), 1e-300):
            return math.inf
        return low + value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:.6g}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class SqrtLaw(Law):
    """The law of ``sigma = sqrt(lam)`` when ``lam`` follows ``base`` (supported on ``lam >= 0``).

    ``p_sigma(sigma) = 2 sigma p_lam(sigma**2)``, ``F_sigma(sigma) = F_lam(sigma**2)``.
    """

    def __init__(self, base: Law) -> None:
        if base.support[0] < 0:
            raise ValueError(f"SqrtLaw needs a law on lam >= 0, got support {base.support}")
        self.base = base

    @property
    def name(self) -> str:  # type: ignore[override]
        """``<base name>_sigma``."""
        return f"{self.base.name}_sigma"

    def params(self) -> dict[str, float]:
        """The parameters of the base law."""
        return self.base.params()

    @property
    def support(self) -> tuple[float, float]:
        """Square roots of the base law's support."""
        low, high = self.base.support
        return math.sqrt(low), math.sqrt(high)

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``log 2 + log sigma + logpdf_lam(sigma**2)`` for ``sigma > 0``, ``-inf`` elsewhere."""
        s = np.asarray(x, dtype=np.float64)
        pos = s > 0
        ss = np.where(pos, s, 1.0)
        return np.where(pos, math.log(2.0) + np.log(ss) + self.base.logpdf(ss * ss), -np.inf)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``F_lam(sigma**2)`` for ``sigma >= 0``, 0 below."""
        s = np.asarray(x, dtype=np.float64)
        return np.where(s > 0, self.base.cdf(np.where(s > 0, s, 0.0) ** 2), 0.0)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``S_lam(sigma**2)`` for ``sigma >= 0``, 1 below."""
        s = np.asarray(x, dtype=np.float64)
        return np.where(s > 0, self.base.sf(np.where(s > 0, s, 0.0) ** 2), 1.0)

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.sqrt(self.base._draw(rng, size))


class ScaledLaw(Law):
    """The law of ``factor * Y`` when ``Y`` follows ``base`` (``factor > 0``).

    Used to put Marchenko–Pastur, a law of ``lam / M``, on the raw ``lam = sigma**2``:
    ``logpdf(x) = base.logpdf(x / factor) - log(factor)``.
    """

    def __init__(self, base: Law, factor: float) -> None:
        check_positive(factor=factor)
        self.base, self.factor = base, float(factor)

    @property
    def name(self) -> str:  # type: ignore[override]
        """The base law's name."""
        return self.base.name

    def params(self) -> dict[str, float]:
        """The base law's parameters (in the base law's units)."""
        return self.base.params()

    @property
    def support(self) -> tuple[float, float]:
        """The base support times ``factor``."""
        low, high = self.base.support
        return self.factor * low, self.factor * high

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """``base.logpdf(x / factor) - log(factor)``."""
        return self.base.logpdf(np.asarray(x, dtype=np.float64) / self.factor) - math.log(
            self.factor
        )

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``base.cdf(x / factor)``."""
        return self.base.cdf(np.asarray(x, dtype=np.float64) / self.factor)

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``base.sf(x / factor)``."""
        return self.base.sf(np.asarray(x, dtype=np.float64) / self.factor)

    def mean(self) -> float:
        """``factor * base.mean()``."""
        return self.factor * self.base.mean()

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.factor * self.base._draw(rng, size)
