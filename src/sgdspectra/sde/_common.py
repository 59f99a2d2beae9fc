"""Shared plumbing of the SDE simulators: argument checks, time grids, random streams.

Nothing here knows about a particular SDE. The simulators share three conventions:

* The process starts at ``t = 0``; ``times`` are the (non-decreasing, non-negative) times at
  which the state is recorded. A requested time of 0 records the start itself.
* Every replica owns its random streams, derived from
  ``numpy.random.SeedSequence(seed).spawn(n_replicas)``, so the numbers a replica sees do not
  depend on how replicas are grouped into chunks.
* ``numpy.random.Generator.standard_normal`` fills arrays sequentially from the bit generator,
  so drawing a block of steps at once gives the same numbers as drawing them one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def check_dims(m: int, n: int) -> tuple[int, int]:
    """Validate matrix dimensions and return them as Python ints."""
    for name, value in (("m", m), ("n", n)):
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(m), int(n)


def check_nonnegative(name: str, value: float) -> float:
    """Validate a finite, non-negative scalar parameter."""
    x = float(value)
    if not math.isfinite(x) or x < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return x


def check_positive(name: str, value: float) -> float:
    """Validate a finite, strictly positive scalar parameter."""
    x = float(value)
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return x


def check_replicas_and_seed(n_replicas: int, seed: int) -> tuple[int, int]:
    """Validate the replica count and the (explicit, non-negative integer) seed."""
    if isinstance(n_replicas, bool) or int(n_replicas) != n_replicas or int(n_replicas) < 1:
        raise ValueError(f"n_replicas must be a positive integer, got {n_replicas!r}")
    if seed is None or isinstance(seed, bool) or int(seed) != seed or int(seed) < 0:
        raise ValueError(f"seed must be an explicit non-negative integer, got {seed!r}")
    return int(n_replicas), int(seed)


def check_times(times: ArrayLike) -> FloatArray:
    """Validate the recording times: 1-D, finite, >= 0 and non-decreasing."""
    t = np.asarray(times, dtype=np.float64)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D sequence, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite (found NaN or inf)")
    if np.any(t < 0.0):
        raise ValueError(f"times must be >= 0 (the process starts at t = 0), got min {t.min()}")
    if np.any(np.diff(t) < 0.0):
        i = int(np.argmax(np.diff(t) < 0.0))
        raise ValueError(f"times must be non-decreasing: times[{i + 1}] = {t[i + 1]} < times[{i}] = {t[i]}")
    return t


def check_w0(w0: ArrayLike | None, m: int, n: int) -> FloatArray:
    """Return the start matrix as float64 (m, n); ``None`` means the zero matrix."""
    if w0 is None:
        return np.zeros((m, n), dtype=np.float64)
    w = np.asarray(w0, dtype=np.float64)
    if w.shape != (m, n):
        raise ValueError(f"w0 must have shape (m, n) = ({m}, {n}), got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"w0 has {int(np.sum(~np.isfinite(w)))} non-finite entries")
    return w


def replica_sequences(seed: int, n_replicas: int) -> list[np.random.SeedSequence]:
    """One independent ``SeedSequence`` per replica (``SeedSequence(seed).spawn(n_replicas)``)."""
    return np.random.SeedSequence(seed).spawn(n_replicas)


@dataclass(frozen=True)
class StepGrid:
    """Integration steps between the recording times.

    Each interval ``[times[i-1], times[i]]`` (with ``times[-1] := 0``) of length ``L`` is cut into
    ``ceil(L / dt)`` equal steps of size ``<= dt``, so every recording time is hit exactly.

    Attributes:
        h: step sizes, shape (n_steps,).
        n_done: number of steps completed when ``times[i]`` is recorded, shape (n_times,).
    """

    h: FloatArray
    n_done: NDArray[np.int64]


def step_grid(times: FloatArray, dt: float) -> StepGrid:
    """Build the :class:`StepGrid` for validated ``times`` and a positive maximal step ``dt``."""
    edges = np.concatenate([[0.0], times])
    lengths = np.diff(edges)
    counts = np.where(lengths > 0.0, np.ceil(lengths / dt * (1.0 - 1e-12)), 0.0).astype(np.int64)
    counts = np.where(lengths > 0.0, np.maximum(counts, 1), 0)
    h = np.repeat(np.divide(lengths, np.maximum(counts, 1)), counts)
    return StepGrid(h=h.astype(np.float64), n_done=np.cumsum(counts))


def chunks(n_items: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` items covering ``range(n_items)``."""
    size = max(1, int(size))
    return [slice(a, min(a + size, n_items)) for a in range(0, n_items, size)]


def ou_transition_std(s: float, gamma: float, dt: float) -> float:
    """Standard deviation of the exact OU noise over ``dt``: sqrt(s (1 - e^{-2 gamma dt}) / (2 gamma)).

    ``gamma = 0`` gives the Brownian value sqrt(s dt); ``expm1`` keeps small ``gamma dt`` accurate.
    """
    if dt <= 0.0:
        return 0.0
    if gamma == 0.0:
        return math.sqrt(s * dt)
    return math.sqrt(s * -math.expm1(-2.0 * gamma * dt) / (2.0 * gamma))
