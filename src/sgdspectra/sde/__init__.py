"""Simulation of the weight SDE at the matrix level and at the singular-value level.

* :func:`simulate_matrix_ou` -- exact matrix Ornstein--Uhlenbeck sampler (batched SVD).
* :func:`simulate_matrix_em` -- Euler--Maruyama for a general drift, optional multiplicative noise.
* :func:`simulate_singular_values` -- ordered sigma-level scheme with rejection and
  Brownian-bridge refinement; :func:`lam_from_sigma` turns its output into ``lam = sigma**2``.
* :func:`calibrate_s_frobenius`, :func:`w0_from_singular_values` -- calibration and starts.

The derivations are in docs/theory.md.
"""

from sgdspectra.sde.calibrate import calibrate_s_frobenius, expected_frobenius2, w0_from_singular_values
from sgdspectra.sde.eigen import lam_from_sigma, simulate_singular_values
from sgdspectra.sde.matrix import simulate_matrix_em, simulate_matrix_ou
from sgdspectra.sde.sigma_scheme import sigma_drift

__all__ = [
    "calibrate_s_frobenius",
    "expected_frobenius2",
    "lam_from_sigma",
    "sigma_drift",
    "simulate_matrix_em",
    "simulate_matrix_ou",
    "simulate_singular_values",
    "w0_from_singular_values",
]
