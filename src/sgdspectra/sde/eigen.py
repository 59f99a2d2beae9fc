"""Singular-value level simulation of the weight SDE (SCIENCE.md §4), ordered and positive.

For ``dW = -gamma W dt + sqrt(s) dB`` (pure weight decay, additive isotropic noise) the
singular values of the m x n matrix W (m >= n) follow, in Itô form and while distinct,

    dsigma_i = -gamma sigma_i dt + s [ (m - n) / (2 sigma_i) + sum_{j != i} sigma_i / (sigma_i^2 - sigma_j^2) ] dt
               + sqrt(s) dbeta_i .

We integrate **sigma, never lambda**: in sigma the noise is additive, so no square root of a
(possibly negative) lambda ever appears (the failure of plain Euler--Maruyama on the lambda-SDE
``dlambda = ... + 2 sqrt(s lambda) dbeta``, CASES.md #29); lambda is recovered as ``sigma**2``
(:func:`lam_from_sigma`), which is non-negative by construction.

Scheme ("sigma_em_bridge_imex", details in :mod:`sgdspectra.sde.sigma_scheme`): explicit
Euler--Maruyama steps on a grid of size ``<= dt``. A proposed step is *rejected* when it would
break the strict order ``sigma_1 > ... > sigma_n`` (or positivity ``sigma_n > 0`` when m > n),
produce a non-finite value, or move a value by drift alone further than ``DRIFT_GUARD`` times the
distance to its nearest neighbour (or to 0). A rejected step is re-integrated on a grid halved
``REFINE_MAX_DEPTH`` times, with the Brownian increments of the halves drawn from the Brownian
bridge (the driving path is preserved); a sub-step still rejected at the finest level is taken
with the nearest-neighbour drift-implicit (IMEX) Euler step, which is strictly ordered for any
step size (the singular part of the drift is minus the gradient of a convex barrier). Values
therefore never cross: the order is checked at every (sub-)step and asserted on the output, and
the numbers of rejected proposals and implicit sub-steps are recorded (attrs and per replica).

Pure halving is not enough on its own: the gap of two neighbours behaves like a Bessel process
of dimension 2 (Dyson index 1), which never hits 0 but comes arbitrarily close, with probability
decaying only like ``1 / log(1 / gap)``, so no fixed refinement depth resolves every approach.
Rejections are frequent unless ``dt`` is well below ``(typical gap)^2 / s`` divided by the
number of gaps; the bias of the minimal gap is the slowest to vanish as ``dt -> 0``.

For m == n the smallest value hits 0 (the Bessel dimension of ``sigma_n`` is m - n + 1 = 1);
the drift is then odd in ``sigma_n`` and ``sigma_n = |x|`` of the extended process, so the
scheme reflects ``sigma_n -> |sigma_n|`` (exact in law) and allows ``sigma_n = 0``.

Bias: away from collisions the scheme is Euler--Maruyama, first order in the weak sense
(tests/test_sde_eigen.py::test_weak_error_shrinks_when_dt_is_halved).
"""

from __future__ import annotations

import logging
import math

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
    chunks,
    ou_transition_std,
    replica_sequences,
    step_grid,
)
from sgdspectra.sde.sigma_scheme import SigmaStepper

log = logging.getLogger(__name__)

#: Memory budget (bytes) of one chunk of replicas (N x N work array and temporary per replica, noise block).
CHUNK_BYTES: int = 2**26
#: Target number of Brownian increments drawn per replica and block of steps.
BLOCK_ELEMS: int = 2**11
#: A start is degenerate when a gap (or sigma_n for m > n) is below this times sqrt(s h).
DEGENERATE_REL_GAP: float = 1e-6


def _is_degenerate(sig0: FloatArray, m: int, s: float, h0: float) -> bool:
    tol = DEGENERATE_REL_GAP * math.sqrt(s * h0)
    gaps = sig0[:-1] - sig0[1:]
    if np.any(gaps <= tol):
        return True
    return bool(m > sig0.size and sig0[-1] <= tol)


def _exact_first_step(
    sig0: FloatArray, m: int, s: float, gamma: float, h: float, gen: np.random.Generator
) -> FloatArray:
    """Singular values of ``e^{-gamma h} diag_m(sig0) + std(h) Z`` (exact OU step from a diagonal start)."""
    n_v = sig0.size
    w = gen.standard_normal((m, n_v)) * ou_transition_std(s, gamma, h)
    w[np.arange(n_v), np.arange(n_v)] += math.exp(-gamma * h) * sig0
    return np.linalg.svd(w, compute_uv=False)


def simulate_singular_values(
    sigma0: ArrayLike,
    m: int,
    s: float,
    gamma: float,
    dt: float,
    times: ArrayLike,
    n_replicas: int,
    seed: int,
    drift_offset: ArrayLike | None = None,
) -> xr.Dataset:
    """Simulate the ordered singular values of the m x n OU matrix process at the sigma level.

    See the module docstring for the SDE and the scheme. ``lambda`` is never integrated directly
    (no square root of a negative number can occur); use :func:`lam_from_sigma` for ``sigma**2``.

    Degenerate starts: if ``sigma0`` has ties (or near ties, gap <= 1e-6 sqrt(s h), h the first
    step) or, for
    m > n, a zero (or near-zero) value -- e.g. ``[1, 1, 2]`` or ``W0 = 0`` -- the first time step
    is taken *exactly* at the matrix level: ``W0 = diag(sigma0)`` (m x n) is advanced with the
    exact Gaussian OU transition and its singular values, almost surely distinct and positive,
    start the sigma-level integration (attrs ``start_rule = "exact_matrix_first_step"``). This is
    exact in law because the OU law of the spectrum depends on W0 only through its singular
    values. For m == n a zero smallest value is not degenerate (it is reflected).

    Args:
        sigma0: the n start values (any order; sorted descending), finite and >= 0.
        m: the larger matrix dimension, ``m >= n = len(sigma0)``.
        s: per-entry noise variance per unit time, > 0.
        gamma: weight decay, >= 0.
        dt: maximal step size, > 0 (each interval between times is cut into equal steps <= dt).
        times: recording times, non-decreasing, >= 0 (0 records the start).
        n_replicas: number of replicas.
        seed: replica r uses ``SeedSequence(seed).spawn(n_replicas)[r]``, itself spawned into
            (increments, bridge, start) streams, so chunking does not change results.
        drift_offset: optional constant drift ``a_i`` added to value i (index order of the sorted,
            descending ``sigma0``): ``dsigma_i = [a_i - gamma sigma_i + s(...)] dt + sqrt(s) dbeta_i``.
            This is how a measured gradient drift enters (the calibrated forecast); the scheme's
            order checks, refinement and implicit fallback (where it is explicit) are unchanged.
            An exact first step from a degenerate start ignores it for that one step.

    Returns:
        Dataset with ``sigma(replica, t, k)`` (descending), ``n_rejected(replica)`` and
        ``n_implicit(replica)``; attrs ``scheme``, ``m``, ``n``, ``s``, ``gamma``, ``dt``,
        ``seed``, ``n_replicas``, ``n_steps``, ``n_rejected`` (total rejected proposals),
        ``n_implicit`` (implicit sub-steps), ``max_refinement_depth``, ``start_rule``,
        ``boundary``.
    """
    sig0 = np.sort(np.asarray(sigma0, dtype=np.float64).ravel())[::-1].copy()
    if sig0.size == 0:
        raise ValueError("sigma0 must hold at least one value")
    if not np.all(np.isfinite(sig0)) or np.any(sig0 < 0.0):
        raise ValueError("sigma0 must be finite and >= 0")
    n_v = sig0.size
    m, _ = check_dims(m, n_v)
    if m < n_v:
        raise ValueError(f"need m >= n = len(sigma0); got m = {m}, n = {n_v} (transpose the matrix)")
    s = check_positive("s", s)
    gamma = check_nonnegative("gamma", gamma)
    dt = check_positive("dt", dt)
    t = check_times(times)
    n_replicas, seed = check_replicas_and_seed(n_replicas, seed)
    offset = None
    if drift_offset is not None:
        offset = np.asarray(drift_offset, dtype=np.float64).ravel()
        if offset.shape != (n_v,) or not np.all(np.isfinite(offset)):
            raise ValueError(f"drift_offset must hold {n_v} finite values, got shape {offset.shape}")

    grid = step_grid(t, dt)
    n_steps = grid.h.size
    degenerate = n_steps > 0 and _is_degenerate(sig0, m, s, float(grid.h[0]))
    block = max(1, min(max(n_steps, 1), BLOCK_ELEMS // n_v))
    chunk = max(1, CHUNK_BYTES // (8 * (2 * n_v * n_v + block * n_v + 8 * n_v)))
    log.info(
        "sigma-level SDE: m=%d n=%d, %d replicas, %d steps, chunks of %d, degenerate start: %s",
        m, n_v, n_replicas, n_steps, chunk, degenerate,
    )
    sqrt_h = np.sqrt(grid.h)
    seqs = replica_sequences(seed, n_replicas)
    out = np.empty((n_replicas, t.size, n_v), dtype=np.float64)
    n_rej = np.zeros(n_replicas, dtype=np.int64)
    n_impl = np.zeros(n_replicas, dtype=np.int64)
    max_depth = 0
    for sl in chunks(n_replicas, chunk):
        streams = [[np.random.default_rng(c) for c in ss.spawn(3)] for ss in seqs[sl]]
        n_b = len(streams)
        bridges = [st[1] for st in streams]
        stepper = SigmaStepper(m, n_v, s, gamma, n_b, offset)
        x = np.repeat(sig0[None, :], n_b, axis=0)
        z = np.empty((n_b, block, n_v), dtype=np.float64)
        rec = 0
        while rec < t.size and grid.n_done[rec] == 0:
            out[sl, rec] = x
            rec += 1
        for j0 in range(0, n_steps, block):
            nb = min(block, n_steps - j0)
            for b_i, st in enumerate(streams):
                st[0].standard_normal(out=z[b_i, :nb])
            for jj in range(nb):
                j = j0 + jj
                h = float(grid.h[j])
                if j == 0 and degenerate:
                    x = np.stack([_exact_first_step(sig0, m, s, gamma, h, st[2]) for st in streams])
                    if not np.all(stepper.valid(x)):
                        raise ValueError("degenerate sigma0 could not be split by the exact first step")
                else:
                    x, nr, ni, dep = stepper.step(x, h, sqrt_h[j] * z[:, jj], bridges)
                    n_rej[sl] += nr
                    n_impl[sl] += ni
                    max_depth = max(max_depth, int(dep.max()))
                while rec < t.size and grid.n_done[rec] == j + 1:
                    out[sl, rec] = x
                    rec += 1
    _assert_ordered(out[:, grid.n_done > 0], reflect=(m == n_v))
    if not np.all(np.isfinite(out)):
        raise AssertionError("non-finite value in a sigma trajectory")
    total_rej = int(n_rej.sum())
    if total_rej:
        log.info(
            "sigma-level SDE: %d rejected proposals, max halving depth %d, %d implicit sub-steps",
            total_rej, max_depth, int(n_impl.sum()),
        )
    attrs: dict[str, object] = {
        "scheme": "sigma_em_bridge_imex",
        "m": m,
        "n": n_v,
        "s": s,
        "gamma": gamma,
        "dt": dt,
        "seed": seed,
        "n_replicas": n_replicas,
        "n_steps": int(n_steps),
        "n_rejected": total_rej,
        "max_refinement_depth": int(max_depth),
        "n_implicit": int(n_impl.sum()),
        "start_rule": "exact_matrix_first_step" if degenerate else "as_given",
        "drift_offset": "none" if offset is None else "per-index constant a_i (see drift_offset)",
        "boundary": "reflecting at 0 (m == n)" if m == n_v else "sigma_n > 0 enforced (m > n)",
        "sde": (
            "dsigma_i = -gamma sigma_i dt + s[(m-n)/(2 sigma_i) + sum_j sigma_i/(sigma_i^2-sigma_j^2)] dt"
            " + sqrt(s) dbeta_i"
        ),
    }
    return xr.Dataset(
        {
            "sigma": (
                ("replica", "t", "k"),
                out,
                {"long_name": "singular values of W(t), descending", "units": "1"},
            ),
            "n_rejected": (
                ("replica",),
                n_rej,
                {"long_name": "rejected (and refined) step proposals", "units": "1"},
            ),
            "n_implicit": (
                ("replica",),
                n_impl,
                {"long_name": "sub-steps taken with the drift-implicit fallback", "units": "1"},
            ),
        },
        coords={
            "replica": ("replica", np.arange(n_replicas, dtype=np.int64), {"long_name": "replica index"}),
            "t": ("t", t, {"long_name": "SDE time", "units": "1"}),
            "k": ("k", np.arange(n_v, dtype=np.int64), {"long_name": "index of the value, 0 = largest"}),
        },
        attrs=attrs,
    )


def _assert_ordered(sig: FloatArray, reflect: bool) -> None:
    """Invariant of every trajectory: finite, strictly descending, positive (>= 0 if reflecting)."""
    if not np.all(np.isfinite(sig)):
        raise AssertionError("non-finite value in a sigma trajectory")
    if sig.shape[-1] > 1 and not np.all(sig[..., :-1] > sig[..., 1:]):
        raise AssertionError("sigma trajectory not strictly descending")
    if not np.all(sig[..., -1] >= 0.0 if reflect else sig[..., -1] > 0.0):
        raise AssertionError("sigma trajectory left the positive half-line")


def lam_from_sigma(ds: xr.Dataset) -> xr.Dataset:
    """Return a Dataset with ``lam = sigma**2`` (replica, t, k) and the attrs of ``ds``."""
    lam = (ds["sigma"] ** 2).rename("lam")
    lam.attrs = {"long_name": "squared singular values of W(t), descending", "units": "1"}
    out = lam.to_dataset()
    out.attrs = dict(ds.attrs)
    return out
