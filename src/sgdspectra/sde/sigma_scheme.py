"""The step of the ordered sigma-level scheme: drift, acceptance test, refinement, implicit fallback.

The sigma-SDE drift (pure weight decay, additive noise) is a gradient, ``b = -grad V`` with

    V(sigma) = gamma/2 sum_i sigma_i^2 - (s/2) sum_{i<j} log(sigma_i^2 - sigma_j^2)
               - s (m - n)/2 sum_i log sigma_i ,

which is convex on the ordered cone ``sigma_1 > ... > sigma_n > 0`` (each term is minus the log of
a positive linear function, or a square). This gives two tools:

* explicit Euler--Maruyama proposals, accepted only when they keep the strict order (and the
  drift displacement is within ``DRIFT_GUARD`` of the nearest-neighbour distance);
* the drift-implicit Euler step ``y = argmin 1/2 |y - x - sqrt(s) dB|^2 + h V(y)``, a strictly
  convex problem whose minimiser lies strictly inside the cone for every ``h`` and every
  increment. It is solved by damped Newton and used only as the last resort of refinement.

Why a fallback is needed: the gap of two neighbouring values behaves like a Bessel process of
dimension 2 (Dyson index 1), which never hits 0 but comes arbitrarily close with probability
decaying only like ``1 / log(1 / gap)``; pure halving would then need unboundedly deep refinement.
"""

from __future__ import annotations

import math

import numpy as np

from sgdspectra.sde._common import FloatArray

#: Halvings of a rejected step before the drift-implicit step is used on the finest sub-step.
REFINE_MAX_DEPTH: int = 8
#: A step is rejected when h |b_i| exceeds this fraction of the distance to the nearest neighbour.
DRIFT_GUARD: float = 0.5
#: Newton iterations allowed for one implicit step.
NEWTON_MAX_ITER: int = 200
#: Newton stops when its step is below this times (1 + max |y|).
NEWTON_STEP_TOL: float = 1e-13
#: Below this relative step size Newton takes full steps without line search.
NEWTON_LOCAL: float = 1e-6


def sigma_drift(sigma: FloatArray, m: int, s: float, gamma: float, work: FloatArray | None = None) -> FloatArray:
    """Drift ``b_i`` of the sigma-SDE for a batch ``sigma`` of shape (batch, N), O(N^2) per row.

    ``b_i = -gamma sigma_i + s [(m - N) / (2 sigma_i) + sum_{j != i} sigma_i / ((sigma_i - sigma_j)(sigma_i + sigma_j))]``.
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

    For ``m == n`` the smallest value is treated in the signed (extended) variable and reflected,
    ``sigma_n -> |sigma_n|``; the drift and ``V`` are even in ``sigma_n`` so this is exact in law.
    """

    def __init__(self, m: int, n_v: int, s: float, gamma: float, batch: int) -> None:
        self.m, self.n_v, self.s, self.gamma = m, n_v, s, gamma
        self.sqrt_s = math.sqrt(s)
        self.reflect = m == n_v
        self.work = np.empty((batch, n_v, n_v), dtype=np.float64)

    def drift(self, x: FloatArray) -> FloatArray:
        """Drift of a batch (batch, N)."""
        return sigma_drift(x, self.m, self.s, self.gamma, self.work)

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

    def refine(self, x: FloatArray, h: float, db: FloatArray, gen: np.random.Generator) -> tuple[FloatArray, int, int, int]:
        """Integrate one rejected step of one replica (state ``x`` (N,), increment ``db`` (N,)).

        The step is halved recursively; the first half's increment is drawn from the Brownian
        bridge ``N(db / 2, h / 4)`` and the second half gets the remainder, so the Brownian path
        is preserved. A sub-step still rejected at depth ``REFINE_MAX_DEPTH`` is taken with the
        drift-implicit step. Returns (new state, rejected proposals, maximal depth, implicit steps).
        """
        n_rej, max_depth, n_impl = 1, 1, 0
        stack = self._split(h, db, 1, gen)
        x = x[None, :].copy()
        while stack:
            hh, dbb, depth = stack.pop()
            b = self.drift(x)
            y = self.propose(x, b, hh, dbb[None, :])
            if bool(self.valid(y)[0]) and bool(self.guard(x, b, hh)[0]):
                x = y
                continue
            n_rej += 1
            if depth >= REFINE_MAX_DEPTH:
                x = self.implicit_step(x[0], hh, dbb)[None, :]
                n_impl += 1
                continue
            stack.extend(self._split(hh, dbb, depth + 1, gen))
            max_depth = max(max_depth, depth + 1)
        return x[0], n_rej, max_depth, n_impl

    @staticmethod
    def _split(h: float, db: FloatArray, depth: int, gen: np.random.Generator) -> list[tuple[float, FloatArray, int]]:
        """Halves of a step in stack order (first half popped first), on the Brownian bridge."""
        db1 = 0.5 * db + math.sqrt(h / 4.0) * gen.standard_normal(db.shape[-1])
        return [(0.5 * h, db - db1, depth), (0.5 * h, db1, depth)]

    # ----------------------------------------------------------------- drift-implicit step
    def _inside(self, y: FloatArray) -> bool:
        """Open domain of V: y_1 > ... > y_{n-1} > |y_n| (m == n) or > y_n > 0 (m > n)."""
        if not np.all(np.isfinite(y)):
            return False
        if self.n_v > 1 and not np.all(y[:-2] > y[1:-1]):
            return False
        if self.reflect:
            return self.n_v == 1 or bool(y[-2] > abs(y[-1]))
        return (self.n_v == 1 or bool(y[-2] > y[-1])) and bool(y[-1] > 0.0)

    def _potential(self, y: FloatArray) -> float:
        """V(y) (finite only inside the domain)."""
        iu = np.triu_indices(self.n_v, k=1)
        diff = (y[:, None] - y[None, :])[iu]
        summ = (y[:, None] + y[None, :])[iu]
        v = 0.5 * self.gamma * float(y @ y) - 0.5 * self.s * float(np.sum(np.log(diff) + np.log(summ)))
        if self.m > self.n_v:
            v -= 0.5 * self.s * (self.m - self.n_v) * float(np.sum(np.log(y)))
        return v

    def _hessian_v(self, y: FloatArray) -> FloatArray:
        """Hessian of V (= minus the Jacobian of the drift), symmetric positive semi-definite."""
        lam = y * y
        den = lam[:, None] - lam[None, :]
        np.fill_diagonal(den, np.inf)
        den2 = den * den
        hess = -2.0 * self.s * np.outer(y, y) / den2
        diag = self.gamma + self.s * np.sum((lam[:, None] + lam[None, :]) / den2, axis=1)
        if self.m > self.n_v:
            diag = diag + self.s * (self.m - self.n_v) / (2.0 * lam)
        hess[np.diag_indices(self.n_v)] = diag
        return hess

    def implicit_step(self, x: FloatArray, h: float, db: FloatArray) -> FloatArray:
        """Drift-implicit Euler step ``y = x + h b(y) + sqrt(s) db`` from the inside point ``x``.

        Damped Newton on ``phi(y) = |y - c|^2 / 2 + h V(y)``, ``c = x + sqrt(s) db``, with
        backtracking that keeps every iterate inside the domain. Raises ``RuntimeError`` if it
        does not converge (not expected: phi is strictly convex with a barrier).
        """
        c = x + self.sqrt_s * db
        y = x.copy()
        phi = 0.5 * float((y - c) @ (y - c)) + h * self._potential(y)
        eye = np.eye(self.n_v)
        for _ in range(NEWTON_MAX_ITER):
            grad = y - c - h * sigma_drift(y[None, :], self.m, self.s, self.gamma)[0]
            step = -np.linalg.solve(eye + h * self._hessian_v(y), grad)
            size = float(np.max(np.abs(step))) / (1.0 + float(np.max(np.abs(y))))
            if size <= NEWTON_LOCAL and self._inside(y + step):
                # quadratic-convergence region: full steps; phi differences are at rounding level
                y = y + step
                if size <= NEWTON_STEP_TOL:
                    break
                phi = 0.5 * float((y - c) @ (y - c)) + h * self._potential(y)
                continue
            decrement = -float(grad @ step)
            alpha = 1.0
            while alpha > 1e-20:
                cand = y + alpha * step
                if self._inside(cand):
                    phi_c = 0.5 * float((cand - c) @ (cand - c)) + h * self._potential(cand)
                    if phi_c <= phi - 1e-4 * alpha * decrement:
                        break
                alpha *= 0.5
            else:
                raise RuntimeError("drift-implicit sigma step: line search failed")
            y, phi = cand, phi_c
        else:
            raise RuntimeError("drift-implicit sigma step: Newton did not converge")
        if self.reflect:
            y[-1] = abs(y[-1])
        if not bool(self.valid(y[None, :])[0]):
            raise RuntimeError("drift-implicit sigma step left the ordered cone")
        return y
