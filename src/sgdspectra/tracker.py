"""First-order singular-value tracker: the paper's experiment-B "forecast", done right.

For W = U diag(sigma) V^T (thin, r = min(m, n)) and an update dW, with dP = U^T dW V, first-order
perturbation theory gives (SCIENCE.md §6)

    d sigma_i = dP_ii
    d u_i = sum_{j != i} u_j (sigma_i dP_ji + sigma_j dP_ij) / (sigma_i^2 - sigma_j^2) + (I - U U^T) dW v_i / sigma_i
    d v_i = sum_{j != i} v_j (sigma_j dP_ji + sigma_i dP_ij) / (sigma_i^2 - sigma_j^2) + (I - V V^T) dW^T u_i / sigma_i

The tracker applies this update at every SGD step, driven by the measured weight update
``dW = W_{k+1} - W_k`` (minibatch gradient, momentum and weight decay included), and
re-orthonormalises U and V every :data:`REORTHO_EVERY` steps and before each comparison (QR with
positive diagonal, which changes them only at second order).
Each pair i keeps its identity: values are not re-sorted, so crossings show up as errors. Pairs
whose mixing coefficient would exceed :data:`MAX_ROTATION` (near-degenerate values, where
first-order theory does not hold) are skipped in that step and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .checkpoint import from_tensors, to_tensors
from .dynamics import matrix_numpy, select_matrices
from .recording import analysed_matrices
from .training import Callback, Trainer

log = logging.getLogger(__name__)

__all__ = ["SingularTracker", "first_order_update", "forecast_start", "orthonormalize"]

#: Steps between re-orthonormalisations of the tracked U and V (each costs two QR factorisations).
REORTHO_EVERY: int = 10
#: Largest first-order mixing coefficient of a pair per step; beyond it the pair is skipped.
MAX_ROTATION: float = 0.1


def forecast_start(snapshot_steps: Sequence[int], start_step: int) -> int:
    """t0: the last snapshot step at or before ``start_step`` (the first snapshot if none)."""
    steps = np.sort(np.asarray(snapshot_steps, dtype=np.int64))
    before = steps[steps <= start_step]
    return int(before[-1] if before.size else steps[0])


def first_order_update(u: np.ndarray, sigma: np.ndarray, v: np.ndarray, dw: np.ndarray,
                       max_rotation: float = MAX_ROTATION) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One first-order step of the thin SVD (u (m, r), sigma (r,), v (n, r)) under ``W += dw``.

    A pair (i, j) whose first-order mixing coefficient exceeds ``max_rotation`` in magnitude is
    outside the range of first-order theory (near-degenerate values, |sigma_i^2 - sigma_j^2| of the
    order of the update); its coefficient is set to 0 and counted. Returns the updated
    (u, sigma, v), not re-orthonormalised, and the number of skipped pairs.
    """
    dp = u.T @ dw @ v  # (r, r)
    s = sigma
    diff = (s[None, :] - s[:, None]) * (s[None, :] + s[:, None])  # [j, i] = sigma_i^2 - sigma_j^2
    off = ~np.eye(s.size, dtype=bool)
    num_u = dp * s[None, :] + s[:, None] * dp.T  # [j, i] = sigma_i dP_ji + sigma_j dP_ij
    num_v = s[:, None] * dp + dp.T * s[None, :]  # [j, i] = sigma_j dP_ji + sigma_i dP_ij
    valid = off & (np.abs(num_u) <= max_rotation * np.abs(diff)) & (np.abs(num_v) <= max_rotation * np.abs(diff))
    inv = np.zeros_like(diff)
    inv[valid] = 1.0 / diff[valid]
    safe = np.where(s > np.sqrt(np.finfo(float).tiny), s, np.inf)
    du = u @ (num_u * inv) + (dw @ v - u @ dp) / safe[None, :]
    dv = v @ (num_v * inv) + (dw.T @ u - v @ dp.T) / safe[None, :]
    return u + du, sigma + np.diag(dp), v + dv, int((off & ~valid).sum()) // 2


def orthonormalize(q: np.ndarray) -> np.ndarray:
    """Nearest-in-direction orthonormal columns: QR with the signs of R's diagonal made positive."""
    qq, r = np.linalg.qr(q)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return qq * signs[None, :]


@dataclass
class _Track:
    u: np.ndarray
    sigma: np.ndarray
    v: np.ndarray
    w_prev: np.ndarray
    skipped: int = 0


@dataclass
class SingularTracker(Callback):
    """Tracks the SVD of matching matrices from ``start`` with :func:`first_order_update`; at each
    of ``record_steps`` (>= start) stores the tracked values and |<u_pred_i, u_obs_i>| for the
    ``top_k`` largest pairs (u_obs from the exact SVD at that step)."""

    start: int
    record_steps: Sequence[int]
    patterns: Sequence[str]
    top_k: int = 8
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._record = {int(s) for s in self.record_steps if s >= self.start}
        self._tracks: dict[str, _Track] = {}

    def _weights(self, trainer: Trainer) -> dict[str, np.ndarray]:
        mats = {n: w for n, _, w in analysed_matrices(trainer.model)}
        return {n: matrix_numpy(mats[n]) for n in select_matrices(list(mats), self.patterns)}

    def _begin(self, weights: dict[str, np.ndarray]) -> None:
        for name, w in weights.items():
            u, s, vt = np.linalg.svd(w, full_matrices=False)
            self._tracks[name] = _Track(u, s, vt.T.copy(), w)
        log.info("tracking %s from step %d", ", ".join(self._tracks) or "no matrix", self.start)

    def _store(self, weights: dict[str, np.ndarray], step: int) -> None:
        row: dict = {"step": step, "matrices": {}}
        for name, w in weights.items():
            tr = self._tracks[name]
            u_obs = np.linalg.svd(w, full_matrices=False)[0]
            k = min(self.top_k, tr.sigma.size)
            align = np.abs(np.sum(tr.u[:, :k] * u_obs[:, :k], axis=0))
            row["matrices"][name] = {"sigma": tr.sigma.copy(), "alignment": align, "skipped": tr.skipped}
        self.rows.append(row)

    def on_train_start(self, trainer: Trainer) -> None:
        if trainer.step == 0 and self.start == 0 and not self._tracks:
            weights = self._weights(trainer)
            self._begin(weights)
            if 0 in self._record:
                self._store(weights, 0)

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        if step < self.start:
            return
        weights = self._weights(trainer)
        if step == self.start and not self._tracks:
            self._begin(weights)
        elif step > self.start:
            for name, w in weights.items():
                tr = self._tracks[name]
                u, s, v, skipped = first_order_update(tr.u, tr.sigma, tr.v, w - tr.w_prev)
                if (step - self.start) % REORTHO_EVERY == 0 or step in self._record:
                    u, v = orthonormalize(u), orthonormalize(v)
                tr.u, tr.sigma, tr.v, tr.w_prev = u, s, v, w
                tr.skipped += skipped
        if step in self._record:
            self._store(weights, step)

    # -------------------------------------------------------------- checkpoint support
    def state_dict(self) -> dict:
        return to_tensors({"tracks": {n: vars(t) for n, t in self._tracks.items()}, "rows": self.rows})

    def load_state_dict(self, state: dict) -> None:
        state = from_tensors(state)
        self._tracks = {n: _Track(**t) for n, t in state["tracks"].items()}
        self.rows = state["rows"]

    # ------------------------------------------------------------------- output
    def to_variables(self, steps: np.ndarray, names: Sequence[str], k_max: int) -> dict[str, xr.DataArray]:
        """``tracker_sigma`` and ``tracker_alignment`` over (step, matrix, k) on the run's snapshot
        steps (NaN where not tracked) and ``tracker_skipped_pairs`` over (step, matrix)."""
        if not self.rows:
            return {}
        index = {int(s): i for i, s in enumerate(steps)}
        sig = np.full((len(steps), len(names), k_max), np.nan)
        align = np.full_like(sig, np.nan)
        skipped = np.full((len(steps), len(names)), np.nan)
        for row in self.rows:
            i = index.get(int(row["step"]))
            if i is None:
                continue
            for j, name in enumerate(names):
                m = row["matrices"].get(name)
                if m is None:
                    continue
                sig[i, j, : m["sigma"].size] = m["sigma"]
                align[i, j, : m["alignment"].size] = m["alignment"]
                skipped[i, j] = m["skipped"]
        return {
            "tracker_sigma": xr.DataArray(sig, dims=("step", "matrix", "k"), attrs={
                "long_name": "singular values of the first-order tracker started at tracking_start_step "
                             "(pair order kept, not sorted); NaN where not tracked", "units": "1"}),
            "tracker_alignment": xr.DataArray(align, dims=("step", "matrix", "k"), attrs={
                "long_name": "|<u_pred_i, u_obs_i>| of the tracker's and the exact left singular vectors "
                             "(top_k pairs)", "units": "1"}),
            "tracker_skipped_pairs": xr.DataArray(skipped, dims=("step", "matrix"), attrs={
                "long_name": "near-degenerate pairs skipped by the tracker so far", "units": "1"}),
        }
