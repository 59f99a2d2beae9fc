"""One step of the ordered sigma-level scheme: drift, acceptance test, refinement, fallback.

* explicit Euler--Maruyama proposals, accepted only when they keep the strict order (and the
  deterministic displacement is within ``DRIFT_GUARD`` of the nearest-neighbour distance);
* rejected steps are re-integrated on halved grids along the same Brownian path (Brownian
  bridge), up to ``REFINE_MAX_DEPTH`` levels;
* at the finest level a still-rejected sub-step is taken with the nearest-neighbour
  drift-implicit (IMEX) Euler step (:mod:`sgdspectra.sde.sigma_implicit`), which is strictly
  ordered for every step size and costs O(N) per Newton iteration.

Why the fallback is needed: the gap of two neighbouring values behaves like a Bessel process of
dimension 2 (Dyson index 1), which never hits 0 but comes arbitrarily close, with a probability
decaying only like ``1 / log(1 / gap)``; halving alone would need unboundedly deep refinement.
"""

from __future__ import annotations

import math

import numpy as np

from sgdspectra.sde._common import FloatArray
from sgdspectra.sde.sigma_implicit import NearestNeighbourImplicit

#: Levels of halving of a rejected step; at the last one the drift-implicit step is the fallback.
REFINE_MAX_DEPTH: int = 1
#: Halvings of an implicit sub-step whose Newton iteration is too slow before giving up.
IMPLICIT_MAX_SPLITS: int = 40
#: A step is rejected when h |b_i| exceeds this fraction of the distance to the nearest neighbour.
DRIFT_GUARD: float = 1.0


def sigma_drift(sigma: FloatArray, m: int, s: float, gamma: float, work: FloatArray | None = None) -> FloatArray:
    """Drift ``b_i`` of the sigma-SDE for a batch ``sigma`` of shape (batch, N), O(N^2) per row.

    ``b_i = -gamma sigma_i + s [(m - N) / (2 sigma_i)
    + sum_{j != i} sigma_i / ((sigma_i - sigma_j)(sigma_i + sigma_j))]``.
    The product form of ``sigma_i^2 - sigma_j^2`` avoids the cancellation of squaring first.
    ``work`` is an optional scratch array of shape (>= batch, N, N).
    """
    n_b, n_v = sigma.shape
    if work is None:
        work = np.empty((n_b, n_v, n_v), dtype=np.float64)
    d = work[:n_b]
    np.subtract(sigma[:, :, None], sigma[:, None, :], out=d)
    d *= sigma[:, :, None] + sigma[:, None, :]
    d.reshape(n_b, n_v * n_v)[:, :: n_v + 1] = np.inf
    np.reciprocal(d, out=d)
    b = d.sum(axis=2)
    b *= sigma
    if m > n_v:
        b += (m - n_v) / (2.0 * sigma)
    b *= s
    if gamma != 0.0:
        b -= gamma * sigma
    return b


class SigmaStepper:
    """Explicit proposals, acceptance test, Brownian-bridge refinement and the implicit fallback.

    ``batch`` is the largest batch whose drift is evaluated (sizes the scratch array).

    For ``m == n`` the smallest value is treated in the signed (extended) variable and reflected,
    ``sigma_n -> |sigma_n|``; the drift and ``V`` are even in ``sigma_n`` so this is exact in law.
    """

    def __init__(self, m: int, n_v: int, s: float, gamma: float, batch: int, offset: FloatArray | None = None) -> None:
        self.m, self.n_v, self.s, self.gamma = m, n_v, s, gamma
        self.offset = offset  # constant per-index drift a_i (explicit in the implicit fallback too)
        self.sqrt_s = math.sqrt(s)
        self.reflect = m == n_v
        self.work = np.empty((batch, n_v, n_v), dtype=np.float64)
        self.implicit = NearestNeighbourImplicit(m, n_v, s, gamma)

    def drift(self, x: FloatArray) -> FloatArray:
        """Drift of a batch (batch, N), plus the constant per-index offset when one is set."""
        b = sigma_drift(x, self.m, self.s, self.gamma, self.work)
        if self.offset is not None:
            b += self.offset
        return b

    def propose(self, x: FloatArray, b: FloatArray, h: float, db: FloatArray) -> FloatArray:
        """Explicit Euler--Maruyama proposal (reflected at 0 when m == n)."""
        y = x + h * b + self.sqrt_s * db
        if self.reflect:
            np.abs(y[:, -1], out=y[:, -1])
        return y

    def valid(self, y: FloatArray) -> np.ndarray:
        """Per row: strictly descending, finite, positive (m > n) or non-negative (m == n)."""
        ok = np.all(np.isfinite(y), axis=1)
        if self.n_v > 1:
            ok &= np.all(y[:, :-1] > y[:, 1:], axis=1)
        ok &= (y[:, -1] >= 0.0) if self.reflect else (y[:, -1] > 0.0)
        return ok

    def guard(self, x: FloatArray, b: FloatArray, h: float) -> np.ndarray:
        """Per row: deterministic displacement within DRIFT_GUARD of the nearest-neighbour distance."""
        near = np.full_like(x, np.inf)
        if self.n_v > 1:
            gaps = x[:, :-1] - x[:, 1:]
            near[:, 1:] = gaps
            np.minimum(near[:, :-1], gaps, out=near[:, :-1])
        if not self.reflect:
            np.minimum(near[:, -1], x[:, -1], out=near[:, -1])
        return np.all(h * np.abs(b) <= DRIFT_GUARD * near, axis=1)

    def explicit(self, x: FloatArray, h: float, db: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """Drift at ``x``, the explicit proposal and its per-row acceptance (:meth:`valid` and :meth:`guard`)."""
        b = self.drift(x)
        y = self.propose(x, b, h, db)
        return b, y, self.valid(y) & self.guard(x, b, h)

    def step(
        self, x: FloatArray, h: float, db: FloatArray, bridge: list[np.random.Generator]
    ) -> tuple[FloatArray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance the batch ``x`` (B, N) by ``h`` with Brownian increments ``db`` (B, N).

        Rows whose explicit proposal is rejected are re-integrated by :meth:`_refine_rows`.
        ``bridge[r]`` is the generator of row r's Brownian-bridge draws.
        Returns (new state, rejected proposals per row, implicit sub-steps per row, depth per row).
        """
        b, y, ok = self.explicit(x, h, db)
        n_rej = (~ok).astype(np.int64)
        n_impl = np.zeros(x.shape[0], dtype=np.int64)
        depth = np.zeros(x.shape[0], dtype=np.int64)
        bad = np.flatnonzero(~ok)
        if bad.size:
            y[bad], r, i, d = self._refine_rows(x[bad], b[bad], h, db[bad], [bridge[k] for k in bad])
            n_rej[bad] += r
            n_impl[bad] += i
            depth[bad] = d
        return y, n_rej, n_impl, depth

    def _refine_rows(
        self, x: FloatArray, b0: FloatArray, h: float, db: FloatArray, gens: list[np.random.Generator]
    ) -> tuple[FloatArray, np.ndarray, np.ndarray, np.ndarray]:
        """Re-integrate rejected steps on successively halved grids (same Brownian path).

        Level l cuts the step into 2**l equal sub-steps; the increments are refined from level
        l - 1 by Brownian-bridge splitting (first half ``N(piece / 2, piece_length / 4)``, second
        half the remainder). A row whose sub-steps are all accepted is done; otherwise it moves to
        the next level. At level ``REFINE_MAX_DEPTH`` a rejected sub-step is taken with the
        drift-implicit step, which is always ordered.
        """
        n_p = x.shape[0]
        n_rej = np.zeros(n_p, dtype=np.int64)
        n_impl = np.zeros(n_p, dtype=np.int64)
        depth = np.zeros(n_p, dtype=np.int64)
        if REFINE_MAX_DEPTH == 0:
            y, n_impl = self._implicit_robust(x, b0, h, db, gens)
            return y, n_rej, n_impl, depth
        out = x.copy()
        pending = np.arange(n_p)
        pieces = db[:, None, :]
        for level in range(1, REFINE_MAX_DEPTH + 1):  # a zero depth means: implicit right away
            pieces = self._bridge_split(pieces, h / 2 ** (level - 1), [gens[i] for i in pending])
            hh = h / 2**level
            last = level == REFINE_MAX_DEPTH
            depth[pending] = level
            y = x[pending].copy()
            alive = np.ones(pending.size, dtype=bool)
            for k in range(pieces.shape[1]):
                rows = np.flatnonzero(alive)
                if rows.size == 0:
                    break
                yr = y[rows]
                b, prop, good = self.explicit(yr, hh, pieces[rows, k])
                fail = rows[~good]
                n_rej[pending[fail]] += 1
                if last and fail.size:
                    prop[~good], n_i = self._implicit_robust(
                        yr[~good], b[~good], hh, pieces[fail, k], [gens[i] for i in pending[fail]]
                    )
                    n_impl[pending[fail]] += n_i
                    good[:] = True
                y[rows[good]] = prop[good]
                alive[fail] = last
            out[pending[alive]] = y[alive]
            pending, pieces = pending[~alive], pieces[~alive]
            if pending.size == 0:
                break
        return out, n_rej, n_impl, depth

    def _implicit_robust(
        self, x: FloatArray, b: FloatArray, h: float, db: FloatArray, gens: list[np.random.Generator], depth: int = 0
    ) -> tuple[FloatArray, np.ndarray]:
        """Implicit step for rows of ``x``; rows where Newton is too slow get their step halved.

        Each half is tried explicitly first, then recursively with this method. Returns the new
        rows and the number of implicit solves per row. Raises ``RuntimeError`` after
        ``IMPLICIT_MAX_SPLITS`` halvings (not expected).
        """
        y, converged = self.implicit(x, h, self.sqrt_s * db, b)
        n_impl = np.ones(x.shape[0], dtype=np.int64)
        slow = np.flatnonzero(~converged)
        if slow.size == 0:
            return y, n_impl
        if depth >= IMPLICIT_MAX_SPLITS:
            raise RuntimeError(f"implicit sigma step did not converge after {depth} halvings of the step")
        sub_gens = [gens[i] for i in slow]
        halves = self._bridge_split(db[slow, None, :], h, sub_gens)
        xs = x[slow].copy()
        for k in range(2):
            bk, prop, good = self.explicit(xs, 0.5 * h, halves[:, k])
            bad = np.flatnonzero(~good)
            if bad.size:
                prop[bad], n_i = self._implicit_robust(
                    xs[bad], bk[bad], 0.5 * h, halves[bad, k], [sub_gens[i] for i in bad], depth + 1
                )
                n_impl[slow[bad]] += n_i
            xs = prop
        y[slow] = xs
        return y, n_impl

    @staticmethod
    def _bridge_split(pieces: FloatArray, length: float, gens: list[np.random.Generator]) -> FloatArray:
        """Split each of the K increments (over ``length``) of every row into two halves."""
        n_p, n_k, n_v = pieces.shape
        z = np.empty_like(pieces)
        for r, g in enumerate(gens):
            g.standard_normal(out=z[r])
        first = 0.5 * pieces + np.sqrt(length / 4.0) * z
        out = np.empty((n_p, 2 * n_k, n_v), dtype=np.float64)
        out[:, 0::2] = first
        out[:, 1::2] = pieces - first
        return out
