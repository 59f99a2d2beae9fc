"""Calibration of the noise strength ``s`` and construction of start matrices."""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import ArrayLike

from sgdspectra.sde._common import FloatArray, check_dims, check_nonnegative, check_positive

log = logging.getLogger(__name__)


def expected_frobenius2(fro2_start: float, m: int, n: int, s: float, gamma: float, t: float) -> float:
    """Mean energy of the matrix OU process: ``E||W(t)||_F^2``.

    ``e^{-2 gamma t} ||W0||^2 + m n s (1 - e^{-2 gamma t}) / (2 gamma)``, and
    ``||W0||^2 + m n s t`` for ``gamma = 0`` (Bru's identity).
    """
    m, n = check_dims(m, n)
    return float(fro2_start) * math.exp(-2.0 * gamma * t) + m * n * s * _growth(gamma, t)


def _growth(gamma: float, t: float) -> float:
    """``(1 - e^{-2 gamma t}) / (2 gamma)``, equal to ``t`` at ``gamma = 0`` (via ``expm1``)."""
    if gamma == 0.0:
        return t
    return -math.expm1(-2.0 * gamma * t) / (2.0 * gamma)


def calibrate_s_frobenius(fro2_start: float, fro2_end: float, m: int, n: int, gamma: float, t: float) -> float:
    """Noise strength ``s`` for which the OU mean energy ``E||W(t)||_F^2`` equals ``fro2_end``.

    Solves ``fro2_end = e^{-2 gamma t} fro2_start + m n s (1 - e^{-2 gamma t}) / (2 gamma)``
    (``fro2_start + m n s t`` for ``gamma = 0``) for ``s``.

    Returns:
        ``s >= 0``; ``NaN`` (with a logged warning) when ``fro2_end`` lies below the deterministic
        decay ``e^{-2 gamma t} fro2_start``, where no non-negative ``s`` exists.
    """
    m, n = check_dims(m, n)
    f0 = check_nonnegative("fro2_start", fro2_start)
    f1 = check_nonnegative("fro2_end", fro2_end)
    gamma = check_nonnegative("gamma", gamma)
    t = check_positive("t", t)
    decayed = f0 * math.exp(-2.0 * gamma * t)
    excess = f1 - decayed
    if excess < 0.0:
        log.warning(
            "calibrate_s_frobenius: observed ||W||^2 = %.6g is below the deterministic decay %.6g "
            "(gamma = %g, t = %g); no non-negative s fits, returning NaN",
            f1, decayed, gamma, t,
        )
        return float("nan")
    return excess / (m * n * _growth(gamma, t))


def w0_from_singular_values(sigma: ArrayLike, m: int, n: int) -> FloatArray:
    """An (m, n) matrix with the given singular values on its diagonal (zeros elsewhere).

    The matrix OU process is rotation-invariant in law: for orthogonal ``U, V``,
    ``U W(t) V^T`` is the process started at ``U W0 V^T``, since the Brownian matrix noise is
    invariant under ``B -> U B V^T``. Hence the law of the singular values of ``W(t)`` depends on
    ``W0`` only through its singular values, and ``diag(sigma)`` is a valid representative start.

    Args:
        sigma: at most ``min(m, n)`` finite, non-negative values (any order; the rest are 0).
        m, n: matrix shape.
    """
    m, n = check_dims(m, n)
    sig = np.asarray(sigma, dtype=np.float64).ravel()
    if sig.size > min(m, n):
        raise ValueError(f"got {sig.size} singular values for a {m} x {n} matrix (at most {min(m, n)})")
    if not np.all(np.isfinite(sig)) or np.any(sig < 0.0):
        raise ValueError("singular values must be finite and >= 0")
    w = np.zeros((m, n), dtype=np.float64)
    idx = np.arange(sig.size)
    w[idx, idx] = np.sort(sig)[::-1]
    return w
