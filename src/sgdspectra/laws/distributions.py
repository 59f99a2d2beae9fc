"""Gamma-type stationary-law candidates for ``lam = sigma**2`` as frozen laws.

- :class:`GammaLaw` (shape, rate), with the factories :func:`eq13_law` (the paper's Eq. 13,
  verbatim, shape ``(n_rows - n_cols + 3)/4`` in PyTorch orientation) and
  :func:`gamma_exact_law` (the exact one-particle Wishart law, shape ``(M - N + 1)/2``);
  :func:`eq13_sigma_law` is Eq. 13 in ``sigma`` (``SqrtLaw`` of the lam law).
- :class:`GammaPowerLawTail`: the gamma bulk with a power-law tail of SCIENCE.md §5.

Marchenko–Pastur, lognormal and exponential laws are in :mod:`sgdspectra.laws.standard`.

**Gamma with a power-law tail.** The stationary density of
``dlam = (a - b lam) dt + sqrt(2 (c lam + d lam**2)) dB`` is
``p(lam) ∝ lam**(a/c - 1) (1 + d lam / c)**(-(a/c + b/d) - 1)``.
With ``shape k = a/c``, ``scale theta = c/d`` and ``alpha_tail = 2 + b/d``::

    p(lam) = lam**(k-1) (1 + lam/theta)**(-(k + alpha_tail - 1)) / (theta**k B(k, alpha_tail - 1))

i.e. ``lam / theta`` is beta-prime(k, alpha_tail - 1), and ``p ~ lam**(-alpha_tail)`` at large
``lam``. It is normalisable for ``alpha_tail > 1`` and has a finite mean
``theta k / (alpha_tail - 2)`` for ``alpha_tail > 2``. The *gamma scale*
``s = theta / (k + alpha_tail - 1)`` (``rate = 1/s``) matches the exponential factor:
``(1 + lam/theta)**(-(k + alpha_tail - 1)) -> exp(-lam / s)`` as ``alpha_tail -> inf`` at fixed
``k`` and ``s`` (this is the limit ``d -> 0`` of the SDE, ``s -> c/b``), so the law tends to
``Gamma(k, scale s)``, with mean ``k s (k + alpha_tail - 1)/(alpha_tail - 2) -> k s``. Matching
``s`` rather than the mean keeps the parametrisation valid for every ``alpha_tail > 1`` (the mean
is infinite for ``alpha_tail <= 2``). For the Wishart drift (a = s(m-n+1), c = 2s) the shape is
``(m - n + 1)/2``, the exact one-particle shape.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from sgdspectra.laws.base import FloatArray, Law, SqrtLaw, check_positive
from sgdspectra.laws.formulas import eq13_shape, gamma_exact_shape

logger = logging.getLogger(__name__)

__all__ = [
    "GammaLaw",
    "GammaPowerLawTail",
    "eq13_law",
    "eq13_sigma_law",
    "gamma_exact_law",
    "gpt_logpdf",
]


def _arr(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


class GammaLaw(Law):
    """``Gamma(shape k, rate)``, location 0: ``rate**k lam**(k-1) e**(-rate lam) / Gamma(k)``."""

    name = "gamma"

    def __init__(self, shape: float, rate: float, name: str = "gamma") -> None:
        check_positive(shape=shape, rate=rate)
        self.shape, self.rate = float(shape), float(rate)
        self.name = name  # type: ignore[misc]
        self._frozen = stats.gamma(self.shape, loc=0.0, scale=1.0 / self.rate)

    def params(self) -> dict[str, float]:
        """``shape`` and ``rate``."""
        return {"shape": self.shape, "rate": self.rate}

    @property
    def support(self) -> tuple[float, float]:
        """``(0, inf)``."""
        return 0.0, math.inf

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """Gamma log density (``-inf`` for ``lam < 0``)."""
        return _arr(self._frozen.logpdf(_arr(x)))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Regularised lower incomplete gamma ``P(k, rate lam)``."""
        return _arr(self._frozen.cdf(_arr(x)))

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """``Q(k, rate lam)``."""
        return _arr(self._frozen.sf(_arr(x)))

    def mean(self) -> float:
        """``shape / rate``."""
        return self.shape / self.rate

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.gamma(self.shape, 1.0 / self.rate, size)


def _eq13_rate(
    rate: float | None, eta: float | None, D: float | None, beta: float | None
) -> float:
    if rate is not None:
        if any(v is not None for v in (eta, D, beta)):
            raise ValueError("give either rate or (eta, D, beta), not both")
        return float(rate)
    if eta is None or D is None or beta is None:
        raise ValueError("Eq. 13 needs rate, or all of eta, D and beta")
    check_positive(eta=eta, D=D, beta=beta)
    return float(beta) / (4.0 * float(eta) * float(D))


def eq13_law(
    n_rows: int, n_cols: int, rate: float | None = None, *,
    eta: float | None = None, D: float | None = None, beta: float | None = None,
) -> GammaLaw:  # fmt: skip
    """The paper's Eq. 13 as a law of ``lam = sigma**2``: ``Gamma((n_rows - n_cols + 3)/4, rate)``.

    Give either ``rate`` or the paper's ``eta, D, beta`` (then ``rate = beta / (4 eta D)``).
    ``(n_rows, n_cols)`` is the PyTorch shape, used verbatim. Raises ``ValueError`` when
    ``n_rows - n_cols + 3 <= 0`` (Eq. 13 is not a density there).
    """
    return GammaLaw(eq13_shape(n_rows, n_cols), _eq13_rate(rate, eta, D, beta), name="eq13")


def eq13_sigma_law(
    n_rows: int, n_cols: int, rate: float | None = None, *,
    eta: float | None = None, D: float | None = None, beta: float | None = None,
) -> SqrtLaw:  # fmt: skip
    """Eq. 13 verbatim in ``sigma``: ``p(sigma) = 2 sigma p_lam(sigma**2)`` (:func:`eq13_law`)."""
    return SqrtLaw(eq13_law(n_rows, n_cols, rate, eta=eta, D=D, beta=beta))


def gamma_exact_law(n_rows: int, n_cols: int, rate: float) -> GammaLaw:
    """Exact one-particle Wishart law ``Gamma((M - N + 1)/2, rate)`` (``rate = gamma / s``)."""
    return GammaLaw(gamma_exact_shape(n_rows, n_cols), rate, name="gamma_exact")


def gpt_logpdf(x: npt.ArrayLike, shape: float, gamma_scale: float, u: float) -> FloatArray:
    """Log density of :class:`GammaPowerLawTail` in the fitting parametrisation.

    ``u = 1 / (alpha_tail - 1) >= 0`` and ``gamma_scale = theta / (shape + alpha_tail - 1)``;
    ``u = 0`` is exactly ``Gamma(shape, scale=gamma_scale)``, and the expression is continuous
    there (``shape log u - betaln(shape, 1/u) -> -gammaln(shape)``). ``-inf`` for ``x <= 0``.
    """
    xx = _arr(x)
    pos = xx > 0
    y = np.where(pos, xx, 1.0) / gamma_scale
    k = shape
    if u == 0.0:
        out = -math.log(gamma_scale) + (k - 1.0) * np.log(y) - y - special.gammaln(k)
    else:
        b = 1.0 / u
        z = y * u / (1.0 + k * u)  # lam / theta
        out = (
            -math.log(gamma_scale) + (k - 1.0) * np.log(y) + k * math.log(u)
            - k * math.log1p(k * u) - (k + b) * np.log1p(z) - special.betaln(k, b)
        )  # fmt: skip
    return np.where(pos, out, -np.inf)


class GammaPowerLawTail(Law):
    """Gamma bulk with a power-law tail (generalized beta-prime; see the module docstring).

    Parameters: ``shape`` k = a/c, ``scale`` theta = c/d, ``alpha_tail`` = 2 + b/d (> 1), so that
    ``p(lam) ∝ lam**(k-1) (1 + lam/theta)**(-(k + alpha_tail - 1)) ~ lam**(-alpha_tail)``.
    :meth:`from_gamma_scale` builds it from the gamma scale ``s`` it tends to as
    ``alpha_tail -> inf``.
    """

    name = "gamma_powerlaw_tail"

    def __init__(self, shape: float, scale: float, alpha_tail: float) -> None:
        check_positive(shape=shape, scale=scale)
        if not (math.isfinite(alpha_tail) and alpha_tail > 1):
            raise ValueError(f"alpha_tail must be finite and > 1, got {alpha_tail!r}")
        self.shape, self.scale, self.alpha_tail = float(shape), float(scale), float(alpha_tail)
        self._b = self.alpha_tail - 1.0
        self._frozen = stats.betaprime(self.shape, self._b, loc=0.0, scale=self.scale)

    @classmethod
    def from_gamma_scale(
        cls, shape: float, gamma_scale: float, alpha_tail: float
    ) -> GammaPowerLawTail:
        """The law with ``theta = gamma_scale (shape + alpha_tail - 1)``; see the module doc."""
        return cls(shape, gamma_scale * (shape + alpha_tail - 1.0), alpha_tail)

    @classmethod
    def from_sde(cls, a: float, b: float, c: float, d: float) -> GammaPowerLawTail:
        """Stationary law of ``dlam = (a - b lam) dt + sqrt(2 (c lam + d lam**2)) dB``."""
        check_positive(a=a, b=b, c=c, d=d)
        return cls(a / c, c / d, 2.0 + b / d)

    @property
    def gamma_scale(self) -> float:
        """``theta / (shape + alpha_tail - 1)``: the scale of the gamma limit."""
        return self.scale / (self.shape + self._b)

    @property
    def rate(self) -> float:
        """``1 / gamma_scale``, comparable with the rate of the gamma laws."""
        return 1.0 / self.gamma_scale

    def params(self) -> dict[str, float]:
        """``shape``, ``scale`` (theta), ``alpha_tail`` and the derived gamma ``rate``."""
        return {"shape": self.shape, "scale": self.scale, "alpha_tail": self.alpha_tail,
                "rate": self.rate}  # fmt: skip

    @property
    def support(self) -> tuple[float, float]:
        """``(0, inf)``."""
        return 0.0, math.inf

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        """Log density (accurate also for very large ``alpha_tail``)."""
        return gpt_logpdf(x, self.shape, self.gamma_scale, 1.0 / self._b)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """``I_{z/(1+z)}(k, alpha_tail - 1)`` with ``z = lam / theta``."""
        return _arr(self._frozen.cdf(_arr(x)))

    def sf(self, x: npt.ArrayLike) -> FloatArray:
        """Survival function (accurate in the tail)."""
        return _arr(self._frozen.sf(_arr(x)))

    def mean(self) -> float:
        """``theta k / (alpha_tail - 2)``, ``inf`` for ``alpha_tail <= 2``."""
        return self.scale * self.shape / (self._b - 1.0) if self._b > 1.0 else math.inf

    def _draw(self, rng: np.random.Generator, size: int) -> FloatArray:
        # lam / theta = G_k / G_b with independent unit-scale gammas
        return self.scale * rng.gamma(self.shape, 1.0, size) / rng.gamma(self._b, 1.0, size)
