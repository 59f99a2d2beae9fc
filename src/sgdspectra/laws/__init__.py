"""Probability laws of squared singular values.

Two layers:

- closed-form vectorised functions (:mod:`sgdspectra.laws.formulas`): Marchenko–Pastur density,
  cdf, quantile and edges, the paper's Eq. 13 in sigma, the gamma shapes, the power-law density;
- frozen distribution objects with ``logpdf``, ``pdf``, ``cdf``, ``sf``, ``loglik``, ``rvs`` and
  ``mean`` (:mod:`sgdspectra.laws.base`, :mod:`~sgdspectra.laws.distributions`,
  :mod:`~sgdspectra.laws.standard`, :mod:`~sgdspectra.laws.tails`): Eq. 13 (in lam and sigma),
  the exact one-particle gamma, the
  gamma-with-power-law-tail law, Marchenko–Pastur (in lam and, through :class:`SqrtLaw`, in
  sigma), lognormal, exponential, power law and truncated power law above ``xmin``.
"""

from sgdspectra.laws.base import Law, ScaledLaw, SqrtLaw, as_generator
from sgdspectra.laws.distributions import (
    GammaLaw,
    GammaPowerLawTail,
    eq13_law,
    eq13_sigma_law,
    gamma_exact_law,
)
from sgdspectra.laws.formulas import (
    eq13_shape,
    eq13_sigma_pdf,
    gamma_exact_shape,
    mp_cdf,
    mp_edges,
    mp_pdf,
    mp_quantile,
    mp_sigma_pdf,
    power_law_cdf,
    power_law_pdf,
)
from sgdspectra.laws.standard import Exponential, LogNormal, MarchenkoPastur
from sgdspectra.laws.tails import PowerLaw, TruncatedPowerLaw

__all__ = [
    "Exponential",
    "GammaLaw",
    "GammaPowerLawTail",
    "Law",
    "LogNormal",
    "MarchenkoPastur",
    "PowerLaw",
    "ScaledLaw",
    "SqrtLaw",
    "TruncatedPowerLaw",
    "as_generator",
    "eq13_law",
    "eq13_shape",
    "eq13_sigma_law",
    "eq13_sigma_pdf",
    "gamma_exact_law",
    "gamma_exact_shape",
    "mp_cdf",
    "mp_edges",
    "mp_pdf",
    "mp_quantile",
    "mp_sigma_pdf",
    "power_law_cdf",
    "power_law_pdf",
]
