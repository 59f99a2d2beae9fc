"""Nearest-neighbour drift-implicit (IMEX) Euler step for the sigma-SDE, batched over replicas.

The sigma-SDE drift (pure weight decay, additive noise) is a gradient, ``b = -grad V`` with

    V(sigma) = gamma/2 sum_i sigma_i^2 - (s/2) sum_{i<j} [log(sigma_i - sigma_j) + log(sigma_i + sigma_j)]
               - s (m - n)/2 sum_i log sigma_i .

Only the nearest-neighbour pairs (and the wall at 0) can become singular, so we split
``V = V_nn + V_far`` where ``V_nn`` holds the quadratic term, the wall and the pairs (i, i+1),
and take ``V_nn`` implicitly and ``V_far`` explicitly:

    y = x + h b_far(x) + h b_nn(y) + sqrt(s) dB
      <=>  y = argmin_y  |y - c|^2 / 2 + h V_nn(y),   c = x + h b_far(x) + sqrt(s) dB .

``V_nn`` is convex on the ordered cone (minus logs of positive linear functions, a square), and
its barrier contains every neighbouring gap, so the minimiser is unique and strictly ordered for
any step size and any increment. Its Hessian is tridiagonal, so a Newton iteration costs O(N)
(plus the O(N^2) explicit far-field drift once). When the increment is huge compared with the
gaps, damped Newton can need many iterations; rows that do not converge within
``NEWTON_MAX_ITER`` are reported to the caller, which halves their step on the Brownian bridge. For m == n the smallest
value is a signed variable on ``sigma_{n-1} > |sigma_n|`` (V is even in it), reflected at the end.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded

from sgdspectra.sde._common import FloatArray

#: Newton iterations allowed for one implicit step before the caller splits the step.
NEWTON_MAX_ITER: int = 15
#: Newton stops after a full step below this times (1 + max |y|): in the quadratic-convergence
#: region the remaining error is then of order its square.
NEWTON_STEP_TOL: float = 1e-9
#: Below this relative step size Newton takes full steps without line search.
NEWTON_LOCAL: float = 1e-6
#: Up to this N the tridiagonal systems are solved as a dense batch, above it row by row (banded).
DENSE_MAX_N: int = 64


class NearestNeighbourImplicit:
    """IMEX Euler step of the sigma-SDE with parameters m, s, gamma (see module docstring)."""

    def __init__(self, m: int, n_v: int, s: float, gamma: float) -> None:
        self.m, self.n_v, self.s, self.gamma = m, n_v, s, gamma
        self.reflect = m == n_v
        self.wall = 0.5 * s * (m - n_v)

    def inside(self, y: FloatArray) -> np.ndarray:
        """Per row of (P, N): inside the open domain of V_nn."""
        ok = np.all(np.isfinite(y), axis=1)
        if self.n_v > 2:
            ok &= np.all(y[:, :-2] > y[:, 1:-1], axis=1)
        if self.n_v > 1:
            ok &= y[:, -2] > (np.abs(y[:, -1]) if self.reflect else y[:, -1])
        if not self.reflect:
            ok &= y[:, -1] > 0.0
        return ok

    def drift_nn(self, y: FloatArray) -> FloatArray:
        """``-grad V_nn`` for rows of (P, N)."""
        b = -self.gamma * y
        if self.wall:
            b = b + self.wall / y
        if self.n_v > 1:
            a, c = y[:, :-1], y[:, 1:]
            pair = self.s / ((a - c) * (a + c))
            b[:, :-1] += a * pair
            b[:, 1:] -= c * pair
        return b

    def objective(self, y: FloatArray, c: FloatArray, h: float) -> FloatArray:
        """``|y - c|^2 / 2 + h V_nn(y)`` per row (meaningful inside the domain only)."""
        v = 0.5 * self.gamma * np.sum(y * y, axis=1)
        if self.wall:
            v -= self.wall * np.sum(np.log(y), axis=1)
        if self.n_v > 1:
            a, b = y[:, :-1], y[:, 1:]
            v -= 0.5 * self.s * np.sum(np.log(a - b) + np.log(a + b), axis=1)
        return 0.5 * np.sum((y - c) ** 2, axis=1) + h * v

    def _newton_system(self, y: FloatArray, h: float) -> tuple[FloatArray, FloatArray]:
        """Diagonal (P, N) and super-diagonal (P, N-1) of ``I + h Hess V_nn``."""
        diag = np.full_like(y, 1.0 + h * self.gamma)
        if self.wall:
            diag += h * self.wall / (y * y)
        off = np.zeros((y.shape[0], max(self.n_v - 1, 0)))
        if self.n_v > 1:
            a, b = y[:, :-1], y[:, 1:]
            dm = 0.5 * self.s / (a - b) ** 2
            dp = 0.5 * self.s / (a + b) ** 2
            diag[:, :-1] += h * (dm + dp)
            diag[:, 1:] += h * (dm + dp)
            off = h * (dp - dm)
        return diag, off

    def _solve(self, diag: FloatArray, off: FloatArray, rhs: FloatArray) -> FloatArray:
        """Solve the symmetric positive-definite tridiagonal systems, one per row."""
        n_p, n_v = diag.shape
        if n_v == 1:
            return rhs / diag
        if n_v <= DENSE_MAX_N:
            mat = np.zeros((n_p, n_v, n_v))
            idx = np.arange(n_v)
            mat[:, idx, idx] = diag
            mat[:, idx[:-1], idx[1:]] = off
            mat[:, idx[1:], idx[:-1]] = off
            return np.linalg.solve(mat, rhs[:, :, None])[:, :, 0]
        out = np.empty_like(rhs)
        band = np.zeros((2, n_v))
        for r in range(n_p):
            band[0, 1:] = off[r]
            band[1] = diag[r]
            out[r] = solveh_banded(band, rhs[r], check_finite=False)
        return out

    def __call__(
        self, x: FloatArray, h: float, noise: FloatArray, b_full: FloatArray
    ) -> tuple[FloatArray, np.ndarray]:
        """IMEX step for rows of ``x`` (P, N), strictly inside the domain.

        ``noise`` is ``sqrt(s) dB`` and ``b_full`` the full drift at ``x`` (both (P, N)).
        Returns the new rows (reflected when m == n) and a mask of the rows where Newton
        converged within ``NEWTON_MAX_ITER`` iterations; the other rows are returned unchanged
        (still inside the domain) and the caller splits their step (the objective is strictly
        convex, but damped Newton can be slow when the increment is huge compared with the gaps).
        """
        c = x + h * (b_full - self.drift_nn(x)) + noise
        y = self._initial_guess(x, c, h)
        phi = self.objective(y, c, h)
        active = np.ones(x.shape[0], dtype=bool)
        failed = np.zeros(x.shape[0], dtype=bool)
        for _ in range(NEWTON_MAX_ITER):
            rows = np.flatnonzero(active)
            if rows.size == 0:
                break
            ya, ca = y[rows], c[rows]
            grad = ya - ca - h * self.drift_nn(ya)
            step = -self._solve(*self._newton_system(ya, h), grad)
            size = np.max(np.abs(step), axis=1) / (1.0 + np.max(np.abs(ya), axis=1))
            new = ya + step
            full = (size <= NEWTON_LOCAL) & self.inside(new)
            damped = np.flatnonzero(~full)
            if damped.size:
                new[damped], found = self._line_search(
                    ya[damped], step[damped], grad[damped], ca[damped], phi[rows[damped]], h
                )
                failed[rows[damped[~found]]] = True
                active[rows[damped[~found]]] = False
            y[rows] = new
            phi[rows] = self.objective(new, ca, h)
            active[rows[full & (size <= NEWTON_STEP_TOL)]] = False
        converged = ~active & ~failed
        y[~converged] = x[~converged]
        if self.reflect:
            y[:, -1] = np.abs(y[:, -1])
        return y, converged

    def _initial_guess(self, x: FloatArray, c: FloatArray, h: float) -> FloatArray:
        """Start for Newton: each neighbouring gap solved as an isolated pair, mean of ``c`` kept.

        An isolated pair with target gap ``d`` has implicit gap ``g = d + h s / g``, i.e.
        ``g = (d + sqrt(d^2 + 4 h s)) / 2``. Rows where this guess is outside the domain start
        from ``x`` (always inside). This cuts the damped Newton phase to a few iterations.
        """
        if self.n_v == 1:
            return np.where(self.inside(c)[:, None], c, x)
        d = c[:, :-1] - c[:, 1:]
        g = 0.5 * (d + np.sqrt(d * d + 4.0 * h * self.s))
        pos = np.concatenate([np.zeros((c.shape[0], 1)), -np.cumsum(g, axis=1)], axis=1)
        y = pos - pos.mean(axis=1, keepdims=True) + c.mean(axis=1, keepdims=True)
        return np.where(self.inside(y)[:, None], y, x)

    def _max_step(self, y: FloatArray, step: FloatArray) -> FloatArray:
        """Per row, the largest ``alpha`` keeping ``y + alpha step`` inside (the constraints are linear)."""
        vals = [y[:, -1:]] if not self.reflect else []
        rates = [step[:, -1:]] if not self.reflect else []
        if self.n_v > 1:
            a, b, pa, pb = y[:, :-1], y[:, 1:], step[:, :-1], step[:, 1:]
            vals += [a - b, a + b]
            rates += [pa - pb, pa + pb]
        if not vals:
            return np.full(y.shape[0], np.inf)
        v, r = np.concatenate(vals, axis=1), np.concatenate(rates, axis=1)
        with np.errstate(divide="ignore"):
            limit = np.where(r < 0.0, v / -r, np.inf)
        return np.min(limit, axis=1)

    def _line_search(
        self, y: FloatArray, step: FloatArray, grad: FloatArray, c: FloatArray, phi: FloatArray, h: float
    ) -> tuple[FloatArray, np.ndarray]:
        """Backtracking (Armijo, staying inside the domain) per row.

        Returns the new points and a mask of the rows where an acceptable point was found (the
        others are returned unchanged).
        """
        decrement = -np.sum(grad * step, axis=1)
        alpha = np.minimum(1.0, 0.95 * self._max_step(y, step))
        out = y.copy()
        todo = np.ones(y.shape[0], dtype=bool)
        for _ in range(60):
            rows = np.flatnonzero(todo)
            if rows.size == 0:
                break
            cand = y[rows] + alpha[rows, None] * step[rows]
            ok = self.inside(cand)
            ok_rows = rows[ok]
            if ok_rows.size:
                phi_c = self.objective(cand[ok], c[ok_rows], h)
                predicted = alpha[ok_rows] * decrement[ok_rows]
                rounding = predicted <= 1e-14 * (1.0 + np.abs(phi[ok_rows]))
                accept = (phi_c <= phi[ok_rows] - 1e-4 * predicted) | rounding
                out[ok_rows[accept]] = cand[ok][accept]
                todo[ok_rows[accept]] = False
            alpha[todo] *= 0.5
        return out, ~todo
