"""Fits of spectral laws: Marchenko–Pastur bulk, power-law tail, Eq. 13 and exact gamma laws.

Every fit returns a :class:`FitResult` (status word + NaN on failure, never a sentinel);
:func:`fit_spectrum` turns one matrix's singular values into rows of the fit table
(``docs/data-format.md``). Model comparison: :func:`compare_laws` fits every stationary-law
candidate (and the tail alternatives) by maximum likelihood with AIC, BIC, KS, Wasserstein-1 and
likelihood-ratio tests (:func:`vuong_test`); :func:`verdict_table` aggregates them over seeds.
Uncertainty: :func:`seed_interval` (primary), :func:`bootstrap_power_law`, :func:`bootstrap_law`.
"""

from sgdspectra.fitting.compare import COMPARE_COLUMNS, SPECTRUM_LAWS, TAIL_LAWS, compare_laws
from sgdspectra.fitting.lawfit import LawFit, wasserstein1
from sgdspectra.fitting.mp import MPFit, fit_marchenko_pastur, tw_threshold
from sgdspectra.fitting.powerlaw import PowerLawFit, fit_power_law
from sgdspectra.fitting.results import FIT_COLUMNS, DroppedValuesWarning, FitResult
from sgdspectra.fitting.spectrum import fit_spectrum, fit_spectrum_results
from sgdspectra.fitting.stationary import fit_eq13, fit_gamma_exact, fit_gamma_fixed_shape
from sgdspectra.fitting.tracy_widom import TW1_QUANTILES, johnstone_centering, tw1_cdf
from sgdspectra.fitting.uncertainty import (
    BootstrapResult,
    SeedInterval,
    bootstrap_law,
    bootstrap_power_law,
    seed_interval,
)
from sgdspectra.fitting.verdict import VERDICT_COLUMNS, verdict_markdown, verdict_table
from sgdspectra.fitting.vuong import VuongResult, vuong_test

__all__ = [
    "COMPARE_COLUMNS",
    "FIT_COLUMNS",
    "SPECTRUM_LAWS",
    "TAIL_LAWS",
    "TW1_QUANTILES",
    "VERDICT_COLUMNS",
    "BootstrapResult",
    "DroppedValuesWarning",
    "FitResult",
    "LawFit",
    "MPFit",
    "PowerLawFit",
    "SeedInterval",
    "VuongResult",
    "bootstrap_law",
    "bootstrap_power_law",
    "compare_laws",
    "fit_eq13",
    "fit_gamma_exact",
    "fit_gamma_fixed_shape",
    "fit_marchenko_pastur",
    "fit_power_law",
    "fit_spectrum",
    "fit_spectrum_results",
    "johnstone_centering",
    "seed_interval",
    "tw1_cdf",
    "tw_threshold",
    "verdict_markdown",
    "verdict_table",
    "vuong_test",
    "wasserstein1",
]
