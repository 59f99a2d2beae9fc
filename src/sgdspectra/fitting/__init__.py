"""Fits of spectral laws: Marchenko–Pastur bulk, power-law tail, Eq. 13 and exact gamma laws.

Every fit returns a :class:`FitResult` (status word + NaN on failure, never a sentinel);
:func:`fit_spectrum` turns one matrix's singular values into rows of the fit table
(``docs/data-format.md``).
"""

from sgdspectra.fitting.mp import MPFit, fit_marchenko_pastur
from sgdspectra.fitting.powerlaw import PowerLawFit, fit_power_law
from sgdspectra.fitting.results import FIT_COLUMNS, DroppedValuesWarning, FitResult
from sgdspectra.fitting.spectrum import fit_spectrum, fit_spectrum_results
from sgdspectra.fitting.stationary import fit_eq13, fit_gamma_exact, fit_gamma_fixed_shape

__all__ = [
    "FIT_COLUMNS",
    "DroppedValuesWarning",
    "FitResult",
    "MPFit",
    "PowerLawFit",
    "fit_eq13",
    "fit_gamma_exact",
    "fit_gamma_fixed_shape",
    "fit_marchenko_pastur",
    "fit_power_law",
    "fit_spectrum",
    "fit_spectrum_results",
]
