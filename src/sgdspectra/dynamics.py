"""Measuring the sigma-SDE's terms during training (SCIENCE.md §2 and §4).

At each measurement step, for every selected matrix W = U diag(sigma) V^T (thin SVD, float64):

- ``n_probe`` minibatch gradients G_b of the training batch size B are drawn at fixed weights
  from their own generator (training is not disturbed); their mean estimates the large-batch
  gradient and their spread the gradient noise;
- ``g_i = <u_i, mean_b G_b v_i>``: the gradient projected on each singular pair;
- ``D_i = var_b <u_i, G_b v_i> / 2`` (per pair) and ``D = mean over entries of var_b G_b / 2``
  (isotropic, with a jackknife standard error over the probe batches); since a minibatch
  gradient has per-entry variance sigma_g^2 / B, D estimates sigma_g^2 / (2B);
- the effective step ``eta = lr / (1 - momentum)`` and ``s = 2 eta D`` (noise per entry per unit
  SDE time t = eta x step);
- each drift term of ``dsigma_i = -g~_i dt + s[(M - N)/(2 sigma_i) + sum_j sigma_i/(sigma_i^2 -
  sigma_j^2)] dt + sqrt(s) dbeta_i`` with ``g~_i = g_i + gamma sigma_i`` (weight decay gamma),
  ``M >= N`` the matrix sides.

Momentum and gradient clipping are outside the theory; ``eta = lr / (1 - momentum)`` is the
stationary effective step of heavy-ball SGD, used as the SDE's time unit.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

from .checkpoint import from_tensors, to_tensors
from .recording import analysed_matrices
from .sde.sigma_scheme import sigma_drift
from .training import Callback, Trainer

log = logging.getLogger(__name__)

__all__ = [
    "DynamicsRecorder",
    "drift_terms",
    "dynamics_anchors",
    "isotropic_noise",
    "matrix_numpy",
    "measure_matrices",
    "noise_from_gradients",
    "probe_gradients",
    "repulsion_sum",
    "select_matrices",
]

#: Phase boundaries of training as fractions of the total steps: early < 0.1 <= middle < 0.5 <= late.
PHASE_EDGES: tuple[float, float] = (0.1, 0.5)


def select_matrices(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Names matching any fnmatch pattern, in the given order."""
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def dynamics_anchors(total_steps: int, windows: int, gap: int) -> np.ndarray:
    """Anchor steps k of the measurement windows (k, k + gap) in [1, total - gap]: half of them
    log-spaced (the fast early phase), half evenly spaced (the later phases); unique, sorted."""
    last = total_steps - gap
    if windows <= 0 or last < 1:
        return np.zeros(0, dtype=np.int64)
    n_log = (windows + 1) // 2
    steps = np.concatenate([np.geomspace(1, last, n_log), np.linspace(1, last, windows - n_log + 2)[1:-1]])
    return np.unique(np.round(steps).astype(np.int64))


def phase_of(step: np.ndarray | int, total_steps: int) -> np.ndarray:
    """'early', 'middle' or 'late' for each step (boundaries :data:`PHASE_EDGES`)."""
    frac = np.asarray(step, dtype=np.float64) / max(total_steps, 1)
    return np.where(frac < PHASE_EDGES[0], "early", np.where(frac < PHASE_EDGES[1], "middle", "late"))


def repulsion_sum(sigma: np.ndarray) -> np.ndarray:
    """``sum_{j != i} sigma_i / (sigma_i^2 - sigma_j^2)`` for each value (O(N^2), product form)."""
    sig = np.asarray(sigma, dtype=np.float64)
    return sigma_drift(sig[None, :], m=sig.size, s=1.0, gamma=0.0)[0]


def drift_terms(sigma: np.ndarray, g: np.ndarray, noise_d: float, shape: tuple[int, int],
                eta: float, weight_decay: float = 0.0) -> dict[str, np.ndarray | float]:
    """Each term of the sigma-SDE drift per unit SDE time, for descending ``sigma`` > 0.

    Returns ``gradient = -(g + gamma sigma)``, ``mp = s (M - N) / (2 sigma)``,
    ``repulsion = s sum_j sigma_i / (sigma_i^2 - sigma_j^2)``, ``s = 2 eta D`` and
    ``noise = sqrt(s)`` (the diffusion amplitude).
    """
    sig = np.asarray(sigma, dtype=np.float64)
    big, small = max(shape), min(shape)
    s = 2.0 * eta * float(noise_d)
    with np.errstate(divide="ignore", invalid="ignore"):
        mp = s * (big - small) / (2.0 * sig)
    return dict(gradient=-(np.asarray(g, dtype=np.float64) + weight_decay * sig), mp=mp,
                repulsion=s * repulsion_sum(sig), s=s, noise=float(np.sqrt(max(s, 0.0))))


def matrix_numpy(w: torch.Tensor) -> np.ndarray:
    """A float64 CPU copy of a weight (or of a view of one, or of a gradient)."""
    return w.detach().to(device="cpu", dtype=torch.float64, copy=True).numpy()


def _grad_view(w: torch.Tensor) -> torch.Tensor | None:
    """The gradient entries of an analysed matrix (a parameter or a view of one, e.g. W_Q)."""
    base = w._base if w._base is not None else w
    if base.grad is None:
        return None
    if w._base is None:
        return base.grad
    return base.grad.as_strided(w.size(), w.stride(), w.storage_offset())


def probe_gradients(trainer: Trainer, n_batches: int, rng: np.random.Generator,
                    names: Sequence[str] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Yield, for each of ``n_batches`` probe minibatches, {matrix: float64 gradient} at fixed
    weights. The batches come from ``rng`` (not the training order); gradients are cleared after."""
    model = trainer.model
    try:
        for _ in range(n_batches):
            model.zero_grad(set_to_none=True)
            x, y = trainer.task.probe_batch(rng)
            trainer.task.loss(model, x, y).backward()
            out = {}
            for name, _, w in analysed_matrices(model):
                if names is not None and name not in names:
                    continue
                g = _grad_view(w)
                if g is not None:
                    out[name] = matrix_numpy(g)
            yield out
    finally:
        model.zero_grad(set_to_none=True)


def isotropic_noise(stack: np.ndarray) -> float:
    """Isotropic noise intensity D = mean over entries of var_b(G_b) / 2 from a stack (n, ...) of
    n >= 2 probe gradients (no BLAS call: its idle threads would spin against torch's)."""
    return float(stack.var(axis=0, ddof=1).mean() / 2.0)


def noise_from_gradients(stack: np.ndarray) -> tuple[float, float]:
    """:func:`isotropic_noise` D and its jackknife standard error over the n >= 3 batches."""
    n = stack.shape[0]
    flat = stack.reshape(n, -1)
    d = isotropic_noise(flat)
    if n < 3:
        return d, float("nan")
    s1, s2 = flat.sum(axis=0), (flat * flat).sum(axis=0)
    loo = np.empty(n)
    for b in range(n):
        r1, r2 = s1 - flat[b], s2 - flat[b] ** 2
        loo[b] = ((r2 - r1 * r1 / (n - 1)) / (n - 2)).mean() / 2.0
    se = float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    return d, se


def measure_matrices(weights: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]]) -> dict[str, dict]:
    """Per matrix: thin-SVD sigma (descending), g_i, per-pair D_i, isotropic D and its SE."""
    out = {}
    for name, w in weights.items():
        stack = np.stack([g[name] for g in grads if name in g])
        if stack.shape[0] < 3:
            continue
        u, sig, vt = np.linalg.svd(w, full_matrices=False)
        proj = np.einsum("mi,bmn,in->bi", u, stack, vt, optimize=True)  # (n_probe, r)
        d_iso, d_se = noise_from_gradients(stack)
        out[name] = dict(sigma=sig, g=proj.mean(axis=0), mode_d=proj.var(axis=0, ddof=1) / 2.0,
                         noise_d=d_iso, noise_d_se=d_se, shape=w.shape)
    return out


@dataclass
class DynamicsRecorder(Callback):
    """Measures the SDE's terms at each anchor step k and at k + gap (see the module docstring)."""

    anchors: np.ndarray
    gap: int
    patterns: Sequence[str]
    n_probe: int = 16
    seed: int = 0
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.anchors = np.asarray(self.anchors, dtype=np.int64)
        self._todo = {int(a): int(a) for a in self.anchors} | {int(a) + self.gap: int(a) for a in self.anchors}

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        if step not in self._todo:
            return
        mats = {n: w for n, _, w in analysed_matrices(trainer.model)}
        names = select_matrices(list(mats), self.patterns)
        if not names:
            return
        weights = {n: matrix_numpy(mats[n]) for n in names}
        rng = np.random.default_rng([self.seed, step])
        grads = list(probe_gradients(trainer, self.n_probe, rng, names))
        eta = trainer.lr / (1.0 - trainer.cfg.momentum)
        row = dict(step=step, anchor=self._todo[step], eta=eta, weight_decay=trainer.cfg.weight_decay,
                   matrices=measure_matrices(weights, grads))
        self.rows.append(row)

    # -------------------------------------------------------------- checkpoint support
    def state_dict(self) -> dict:
        return {"rows": to_tensors(self.rows)}

    def load_state_dict(self, state: dict) -> None:
        self.rows = from_tensors(state["rows"])

    # ------------------------------------------------------------------- output
    def to_variables(self, names: Sequence[str], k_max: int) -> dict[str, xr.DataArray]:
        """The measurements as DataArrays over (dyn_step, matrix[, k]) to merge into the run file;
        matrices that were not measured hold NaN. Empty when nothing was measured."""
        if not self.rows:
            return {}
        rows = sorted(self.rows, key=lambda r: r["step"])
        n_s, n_m = len(rows), len(names)
        per_k = {key: np.full((n_s, n_m, k_max), np.nan) for key in
                 ("dyn_sigma", "grad_proj", "mode_noise_D", "drift_gradient", "drift_mp", "drift_repulsion")}
        per_m = {key: np.full((n_s, n_m), np.nan) for key in ("dyn_noise_D", "dyn_noise_D_se", "s_noise")}
        for i, row in enumerate(rows):
            for j, name in enumerate(names):
                meas = row["matrices"].get(name)
                if meas is None:
                    continue
                r = meas["sigma"].size
                terms = drift_terms(meas["sigma"], meas["g"], meas["noise_d"], tuple(meas["shape"]),
                                    row["eta"], row["weight_decay"])
                for key, val in (("dyn_sigma", meas["sigma"]), ("grad_proj", meas["g"]),
                                 ("mode_noise_D", meas["mode_d"]), ("drift_gradient", terms["gradient"]),
                                 ("drift_mp", terms["mp"]), ("drift_repulsion", terms["repulsion"])):
                    per_k[key][i, j, :r] = val
                per_m["dyn_noise_D"][i, j] = meas["noise_d"]
                per_m["dyn_noise_D_se"][i, j] = meas["noise_d_se"]
                per_m["s_noise"][i, j] = terms["s"]
        attrs = {
            "dyn_sigma": ("singular values at the measurement step (descending)", "1"),
            "grad_proj": ("g_i = <u_i, G v_i>, G the mean of the probe-minibatch loss gradients (no weight decay)", "1"),
            "mode_noise_D": ("per-pair noise D_i = var over probe minibatches of <u_i, G_b v_i> / 2", "1"),
            "drift_gradient": ("gradient term -(g_i + weight_decay sigma_i) of the sigma-SDE drift, per unit SDE time", "1"),
            "drift_mp": ("term s (M - N) / (2 sigma_i) of the sigma-SDE drift, per unit SDE time", "1"),
            "drift_repulsion": ("repulsion term s sum_j sigma_i / (sigma_i^2 - sigma_j^2), per unit SDE time", "1"),
            "dyn_noise_D": ("isotropic noise D = mean over entries of var over probe minibatches of G / 2", "1"),
            "dyn_noise_D_se": ("jackknife standard error of dyn_noise_D over the probe minibatches", "1"),
            "s_noise": ("s = 2 eta D: noise variance per entry per unit SDE time (sqrt(s) is the noise term)", "1"),
        }
        out: dict[str, xr.DataArray] = {}
        for key, arr in per_k.items():
            out[key] = xr.DataArray(arr, dims=("dyn_step", "matrix", "k"),
                                    attrs={"long_name": attrs[key][0], "units": attrs[key][1]})
        for key, arr in per_m.items():
            out[key] = xr.DataArray(arr, dims=("dyn_step", "matrix"),
                                    attrs={"long_name": attrs[key][0], "units": attrs[key][1]})
        out["eta_effective"] = xr.DataArray(np.array([r["eta"] for r in rows]), dims=("dyn_step",), attrs={
            "long_name": "effective step lr / (1 - momentum) of the updates after the measurement", "units": "1"})
        out["dyn_anchor"] = xr.DataArray(np.array([r["anchor"] for r in rows], dtype=np.int64), dims=("dyn_step",), attrs={
            "long_name": "anchor step k of the measurement window (k, k + gap)", "units": "1"})
        out["dyn_step"] = xr.DataArray(np.array([r["step"] for r in rows], dtype=np.int64), dims=("dyn_step",), attrs={
            "long_name": "SGD step of the dynamics measurement", "units": "1"})
        return out
