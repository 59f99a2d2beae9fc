"""Matrix-level simulation of the weight SDE dW = drift dt + noise dB (SCIENCE.md §3).

Two samplers, both vectorised over replicas (a stack of matrices, batched SVD) and processed in
chunks of replicas so memory stays bounded:

* :func:`simulate_matrix_ou` -- the matrix Ornstein--Uhlenbeck process
  ``dW = -gamma W dt + sqrt(s) dB`` sampled with its *exact* Gaussian transition between
  successive recording times (no time-step error at all).
* :func:`simulate_matrix_em` -- Euler--Maruyama for a general drift (for example the negative
  gradient of a teacher--student loss plus weight decay), optionally with multiplicative noise.

Both return ``lam(replica, t, k)``: the squared singular values of ``W(t)`` in descending order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from sgdspectra.sde._common import (
    FloatArray,
    check_dims,
    check_nonnegative,
    check_positive,
    check_replicas_and_seed,
    check_times,
    check_w0,
    chunks,
    ou_transition_std,
    replica_sequences,
    step_grid,
)

log = logging.getLogger(__name__)

#: Memory budget (bytes) of one chunk of replicas in :func:`simulate_matrix_em`.
EM_CHUNK_BYTES: int = 2**26
#: Target number of random numbers drawn per replica and block of Euler--Maruyama steps.
EM_BLOCK_ELEMS: int = 2**15

Drift = Callable[[FloatArray], FloatArray]


def lam_dataset(lam: FloatArray, times: FloatArray, attrs: dict[str, object]) -> xr.Dataset:
    """Wrap ``lam`` of shape (replica, t, k) into the SDE output Dataset."""
    n_rep, n_t, n_k = lam.shape
    ds = xr.Dataset(
        {
            "lam": (
                ("replica", "t", "k"),
                lam,
                {
                    "long_name": "squared singular values of W(t) (eigenvalues of W^T W), descending",
                    "units": "1",
                },
            )
        },
        coords={
            "replica": ("replica", np.arange(n_rep, dtype=np.int64), {"long_name": "replica index"}),
            "t": ("t", times, {"long_name": "SDE time (learning rate x SGD step)", "units": "1"}),
            "k": ("k", np.arange(n_k, dtype=np.int64), {"long_name": "index of the value, 0 = largest"}),
        },
        attrs=attrs,
    )
    return ds


def _svd_lam(w: FloatArray) -> FloatArray:
    """Squared singular values (descending) of a stack of matrices (..., m, n)."""
    sig = np.linalg.svd(w, compute_uv=False)
    return sig * sig


def simulate_matrix_ou(
    m: int,
    n: int,
    s: float,
    gamma: float,
    times: ArrayLike,
    n_replicas: int,
    seed: int,
    w0: ArrayLike | None = None,
    max_chunk_bytes: int = 2**26,
) -> xr.Dataset:
    """Sample the spectrum of the matrix OU process ``dW = -gamma W dt + sqrt(s) dB`` exactly.

    Between successive recording times the transition is the exact Gaussian one,
    ``W(t + d) = e^{-gamma d} W(t) + sqrt(s (1 - e^{-2 gamma d}) / (2 gamma)) Z`` with ``Z`` an
    (m, n) matrix of i.i.d. standard normals (``sqrt(s d) Z`` when ``gamma = 0``: the Brownian,
    Wishart/Bru case). There is no discretisation error, so ``times`` may be arbitrarily sparse.

    Args:
        m, n: matrix shape (any orientation; ``min(m, n)`` values are returned).
        s: per-entry noise variance per unit time (``s = 2 eta D``), >= 0.
        gamma: weight decay, >= 0.
        times: recording times, non-decreasing, >= 0; the process starts at ``t = 0`` from ``w0``,
            so a time 0 records the start.
        n_replicas: number of independent replicas.
        seed: non-negative integer; replica ``r`` draws from
            ``default_rng(SeedSequence(seed).spawn(n_replicas)[r])``, so results do not depend on
            ``max_chunk_bytes``.
        w0: start matrix (m, n); ``None`` is the zero matrix.
        max_chunk_bytes: memory budget of one chunk of replicas (matrix, noise and SVD copy).

    Returns:
        Dataset with ``lam(replica, t, k)`` float64, descending along ``k``; attrs ``scheme``
        (``"exact_ou"``), ``m``, ``n``, ``s``, ``gamma``, ``seed``, ``n_replicas``.
    """
    m, n = check_dims(m, n)
    s = check_nonnegative("s", s)
    gamma = check_nonnegative("gamma", gamma)
    t = check_times(times)
    n_replicas, seed = check_replicas_and_seed(n_replicas, seed)
    w_start = check_w0(w0, m, n)
    if int(max_chunk_bytes) < 1:
        raise ValueError(f"max_chunk_bytes must be positive, got {max_chunk_bytes!r}")

    n_k = min(m, n)
    per_replica = 3 * 8 * m * n
    chunk = max(1, int(max_chunk_bytes) // per_replica)
    log.info("exact OU: %d x %d, %d replicas, %d times, chunks of %d replicas", m, n, n_replicas, t.size, chunk)
    seqs = replica_sequences(seed, n_replicas)
    d_t = np.diff(np.concatenate([[0.0], t]))
    decay = np.exp(-gamma * d_t)
    noise_std = np.array([ou_transition_std(s, gamma, float(d)) for d in d_t])
    lam0 = _svd_lam(w_start)

    out = np.empty((n_replicas, t.size, n_k), dtype=np.float64)
    for sl in chunks(n_replicas, chunk):
        gens = [np.random.default_rng(ss) for ss in seqs[sl]]
        w = np.repeat(w_start[None, :, :], len(gens), axis=0)
        z = np.empty_like(w)
        lam_now = np.repeat(lam0[None, :], len(gens), axis=0)
        for i in range(t.size):
            if d_t[i] > 0.0:
                for b, g in enumerate(gens):
                    g.standard_normal(out=z[b])
                w *= decay[i]
                w += noise_std[i] * z
                lam_now = _svd_lam(w)
            out[sl, i, :] = lam_now
    _check_finite(out, "simulate_matrix_ou")
    attrs: dict[str, object] = {
        "scheme": "exact_ou",
        "m": m,
        "n": n,
        "s": s,
        "gamma": gamma,
        "seed": seed,
        "n_replicas": n_replicas,
        "w0_frobenius2": float(np.sum(w_start * w_start)),
        "sde": "dW = -gamma W dt + sqrt(s) dB (exact Gaussian transitions)",
    }
    return lam_dataset(out, t, attrs)


def simulate_matrix_em(
    m: int,
    n: int,
    s: float,
    drift: Drift,
    dt: float,
    times: ArrayLike,
    n_replicas: int,
    seed: int,
    w0: ArrayLike | None = None,
    multiplicative: float = 0.0,
) -> xr.Dataset:
    """Euler--Maruyama simulation of ``dW = drift(W) dt + sqrt(s (1 + kappa ||W||_F^2)) dB``.

    The noise model (Itô): every entry receives independent Brownian noise whose variance per
    unit time is ``s * (1 + multiplicative * ||W||_F^2)``, evaluated at the start of the step and
    shared by all entries of one replica. With ``multiplicative = 0`` this is the additive model
    of SCIENCE.md §3; with ``multiplicative > 0`` the gradient-noise variance grows with the
    weight energy (as for SGD on a loss whose per-sample gradients scale with ``W``), and for
    ``drift = -gamma W`` the energy ``x = ||W||_F^2`` is a closed one-dimensional diffusion
    ``dx = (a - b x) dt + sqrt(2 (c x + d x^2)) dbeta`` with ``a = m n s``,
    ``b = 2 gamma - m n s kappa``, ``c = 2 s``, ``d = 2 s kappa``: its stationary law has a gamma
    bulk and a power-law tail (docs/theory.md).

    Each interval between recording times is cut into equal steps of size ``<= dt``.

    Args:
        m, n: matrix shape.
        s: base per-entry noise variance per unit time, >= 0.
        drift: vectorised callable ``drift(W) -> array`` taking a stack ``W`` of shape
            (batch, m, n) and returning the drift of the same shape, e.g.
            ``lambda W: -(grad_L(W) + gamma * W)``. It must act on each replica separately (the
            batch size depends on the chunking).
        dt: maximal step size, > 0.
        times: recording times, non-decreasing, >= 0 (0 records the start).
        n_replicas, seed: as in :func:`simulate_matrix_ou`.
        w0: start matrix (m, n); ``None`` is the zero matrix.
        multiplicative: ``kappa >= 0`` above.

    Returns:
        Dataset with ``lam(replica, t, k)``; attrs ``scheme = "euler_maruyama"`` and parameters.

    Raises:
        FloatingPointError: if the drift or the state becomes non-finite (divergence), naming the
            time and the replica.
    """
    m, n = check_dims(m, n)
    s = check_nonnegative("s", s)
    dt = check_positive("dt", dt)
    kappa = check_nonnegative("multiplicative", multiplicative)
    t = check_times(times)
    n_replicas, seed = check_replicas_and_seed(n_replicas, seed)
    w_start = check_w0(w0, m, n)
    if not callable(drift):
        raise TypeError("drift must be a callable drift(W_batch) -> array")

    grid = step_grid(t, dt)
    n_steps = grid.h.size
    n_k = min(m, n)
    block = max(1, min(max(n_steps, 1), EM_BLOCK_ELEMS // (m * n)))
    chunk = max(1, EM_CHUNK_BYTES // (8 * m * n * (block + 4)))
    log.info("Euler-Maruyama: %d x %d, %d replicas, %d steps, chunks of %d", m, n, n_replicas, n_steps, chunk)
    seqs = replica_sequences(seed, n_replicas)
    sqrt_h = np.sqrt(grid.h)
    lam0 = _svd_lam(w_start)

    out = np.empty((n_replicas, t.size, n_k), dtype=np.float64)
    for sl in chunks(n_replicas, chunk):
        gens = [np.random.default_rng(ss) for ss in seqs[sl]]
        n_b = len(gens)
        w = np.repeat(w_start[None, :, :], n_b, axis=0)
        noise = np.empty((n_b, block, m, n), dtype=np.float64)
        rec = 0
        while rec < t.size and grid.n_done[rec] == 0:
            out[sl, rec, :] = lam0
            rec += 1
        for j0 in range(0, n_steps, block):
            nb = min(block, n_steps - j0)
            for b, g in enumerate(gens):
                g.standard_normal(out=noise[b, :nb])
            for jj in range(nb):
                j = j0 + jj
                try:
                    w = _em_step(w, drift, float(grid.h[j]), float(sqrt_h[j]), s, kappa, noise[:, jj])
                except FloatingPointError as exc:
                    t_j = float(np.sum(grid.h[: j + 1]))
                    raise FloatingPointError(f"Euler-Maruyama diverged at t = {t_j:.6g} (step {j + 1}): {exc}") from exc
                if not np.all(np.isfinite(w)):
                    bad = int(np.argmax(~np.all(np.isfinite(w), axis=(1, 2))))
                    raise FloatingPointError(
                        f"Euler-Maruyama diverged at t = {float(np.sum(grid.h[: j + 1])):.6g} "
                        f"(step {j + 1}, replica {sl.start + bad}): non-finite weights"
                    )
                if rec < t.size and grid.n_done[rec] == j + 1:
                    lam_now = _svd_lam(w)
                    while rec < t.size and grid.n_done[rec] == j + 1:
                        out[sl, rec, :] = lam_now
                        rec += 1
    _check_finite(out, "simulate_matrix_em")
    attrs: dict[str, object] = {
        "scheme": "euler_maruyama",
        "m": m,
        "n": n,
        "s": s,
        "dt": dt,
        "seed": seed,
        "n_replicas": n_replicas,
        "multiplicative": kappa,
        "drift": str(getattr(drift, "__name__", type(drift).__name__)),
        "noise_model": "per-entry variance s * (1 + multiplicative * ||W||_F^2) per unit time (Ito)",
        "w0_frobenius2": float(np.sum(w_start * w_start)),
    }
    return lam_dataset(out, t, attrs)


def _em_step(
    w: FloatArray, drift: Drift, h: float, sqrt_h: float, s: float, kappa: float, z: FloatArray
) -> FloatArray:
    """One Euler--Maruyama step for a stack ``w`` (batch, m, n) with standard normals ``z``."""
    d = np.asarray(drift(w), dtype=np.float64)
    if d.shape != w.shape:
        raise ValueError(f"drift returned shape {d.shape}, expected {w.shape}")
    if not np.all(np.isfinite(d)):
        raise FloatingPointError("the drift returned non-finite values")
    if kappa > 0.0:
        amp = np.sqrt(s * (1.0 + kappa * np.sum(w * w, axis=(1, 2))))[:, None, None]
    else:
        amp = math.sqrt(s)
    return w + h * d + (sqrt_h * amp) * z


def _check_finite(arr: FloatArray, where: str) -> None:
    """Raise if a simulated array holds any non-finite value (never expected)."""
    if not np.all(np.isfinite(arr)):
        raise FloatingPointError(f"{where}: {int(np.sum(~np.isfinite(arr)))} non-finite values in the output")
