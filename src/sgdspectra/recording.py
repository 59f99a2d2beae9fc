"""The snapshot callback and the run record it builds (stored as one netCDF per run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import xarray as xr
import torch
from torch import nn

from .checkpoint import from_tensors, to_tensors
from .spectra import normalized_singular_values, singular_values_with_driver
from .training import Callback, Trainer

log = logging.getLogger(__name__)

__all__ = ["SpectrumRecorder", "analysed_matrices"]


def gradient_noise(trainer: Trainer, n_batches: int, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """Per analysed matrix: D = (variance across ``n_batches`` probe minibatches of the gradient) / 2,
    averaged over entries, and the norm of the mean gradient. Since a minibatch gradient has
    per-entry variance σ_g²/B, D estimates σ_g²/(2B) (SCIENCE.md §2). The probe batches come from
    their own generator and the gradients are cleared afterwards: training is not disturbed."""
    from .dynamics import isotropic_noise, probe_gradients

    if n_batches < 2:
        return {}, {}
    grads: dict[str, list[np.ndarray]] = {}
    for batch in probe_gradients(trainer, n_batches, np.random.default_rng(seed)):
        for name, g in batch.items():
            grads.setdefault(name, []).append(g)
    noise, norm = {}, {}
    for name, gs in grads.items():
        stack = np.stack(gs)  # (n_batches, m, n)
        noise[name] = isotropic_noise(stack)
        mean = stack.mean(axis=0)  # Frobenius norm without a BLAS call (its idle threads would spin against torch)
        norm[name] = float(np.sqrt(np.square(mean).sum()))
    return noise, norm


def analysed_matrices(model: nn.Module) -> list[tuple[str, str, torch.Tensor]]:
    """Every analysed matrix as (name, kind, 2-D tensor).

    Models with ``weight_matrices()`` (all of sgdspectra's) define names and kinds, splitting fused
    projections; for any other module every 2-D parameter is used, named without ``.weight``.
    """
    if hasattr(model, "weight_matrices"):
        return list(model.weight_matrices())
    return [(name.removesuffix(".weight"), "other", p) for name, p in model.named_parameters() if p.ndim == 2]


@dataclass
class SpectrumRecorder(Callback):
    """Records singular values of every 2-D weight, losses, accuracies and lr at given steps."""

    steps: np.ndarray
    noise_batches: int = 0
    noise_seed: int = 0

    def __post_init__(self) -> None:
        self._todo = set(int(s) for s in self.steps)
        self.rows: list[dict] = []
        self.batch_loss: list[float] = []
        self.drivers: set[str] = set()
        self.kinds: dict[str, str] = {}

    def _record(self, trainer: Trainer, step: int) -> None:
        train_loss, train_acc = trainer.evaluate("train")
        val_loss, val_acc = trainer.evaluate("val")
        sigma, sigma_norm, shapes = {}, {}, {}
        for name, kind, p in analysed_matrices(trainer.model):
            self.kinds[name] = kind
            values, driver = singular_values_with_driver(p, name=name, step=step)
            self.drivers.add(driver)
            sigma[name] = values
            sigma_norm[name] = normalized_singular_values(p, name=name, step=step)
            shapes[name] = tuple(p.shape)
        noise_d, grad_norm = gradient_noise(trainer, self.noise_batches, self.noise_seed + step)
        self.rows.append(dict(
            step=step, lr=trainer.lr, train_loss=train_loss, val_loss=val_loss,
            train_accuracy=train_acc, val_accuracy=val_acc, sigma=sigma, sigma_norm=sigma_norm,
            shapes=shapes, noise_d=noise_d, grad_norm=grad_norm,
        ))

    def on_train_start(self, trainer: Trainer) -> None:
        if trainer.step == 0 and 0 in self._todo:  # a resumed run already holds its step-0 snapshot
            self._record(trainer, 0)

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        self.batch_loss.append(batch_loss)
        if step in self._todo:
            self._record(trainer, step)

    # -------------------------------------------------------------- checkpoint support
    def state_dict(self) -> dict:
        return {"rows": to_tensors(self.rows), "batch_loss": list(self.batch_loss), "kinds": dict(self.kinds),
                "drivers": sorted(self.drivers)}

    def load_state_dict(self, state: dict) -> None:
        self.rows = from_tensors(state["rows"])
        self.batch_loss = list(state["batch_loss"])
        self.kinds = dict(state["kinds"])
        self.drivers = set(state["drivers"])

    def to_dataset(self) -> xr.Dataset:
        """The snapshots recorded so far as a Dataset (dims step, matrix, k; see docs/data-format.md)."""
        if not self.rows:
            raise ValueError("no snapshot was recorded")
        names = list(self.rows[0]["shapes"])
        shapes = self.rows[0]["shapes"]
        k_max = max(min(shapes[n]) for n in names)
        n_steps = len(self.rows)
        sigma = np.full((n_steps, len(names), k_max), np.nan)
        sigma_norm = np.full_like(sigma, np.nan)
        for i, row in enumerate(self.rows):
            for j, name in enumerate(names):
                v = row["sigma"][name]
                sigma[i, j, : v.size] = v
                sigma_norm[i, j, : v.size] = row["sigma_norm"][name]

        def per_matrix(key: str) -> np.ndarray:
            return np.array([[row[key].get(n, np.nan) for n in names] for row in self.rows], dtype=np.float64)

        def per_step(key: str) -> np.ndarray:
            return np.array([row[key] for row in self.rows], dtype=np.float64)

        ds = xr.Dataset(
            data_vars=dict(
                sigma=(("step", "matrix", "k"), sigma, {
                    "long_name": "singular values of the weight (descending, NaN-padded)", "units": "1"}),
                sigma_normalized=(("step", "matrix", "k"), sigma_norm, {
                    "long_name": "singular values of (W - mean) / (std * sqrt(max(m, n)))", "units": "1"}),
                train_loss=("step", per_step("train_loss"), {"long_name": "mean cross-entropy on the training split", "units": "nat"}),
                val_loss=("step", per_step("val_loss"), {"long_name": "mean cross-entropy on the validation split", "units": "nat"}),
                train_accuracy=("step", per_step("train_accuracy"), {"long_name": "training accuracy", "units": "1"}),
                val_accuracy=("step", per_step("val_accuracy"), {"long_name": "validation accuracy", "units": "1"}),
                lr=("step", per_step("lr"), {"long_name": "learning rate", "units": "1"}),
                noise_D=(("step", "matrix"), per_matrix("noise_d"), {
                    "long_name": "gradient-noise intensity D = var over minibatches of the gradient / 2, mean over entries "
                                 "(sigma_g^2 / (2B)); NaN when not measured", "units": "1"}),
                grad_norm=(("step", "matrix"), per_matrix("grad_norm"), {
                    "long_name": "Frobenius norm of the mean probe-minibatch gradient; NaN when not measured", "units": "1"}),
                batch_loss=("iteration", np.asarray(self.batch_loss, dtype=np.float64), {
                    "long_name": "minibatch loss of each SGD step", "units": "nat"}),
            ),
            coords=dict(
                step=("step", np.array([r["step"] for r in self.rows], dtype=np.int64), {"long_name": "SGD step", "units": "1"}),
                matrix=("matrix", np.array(names, dtype=object), {"long_name": "weight matrix (parameter name)"}),
                k=("k", np.arange(k_max, dtype=np.int64), {"long_name": "index of the singular value, 0 = largest", "units": "1"}),
                n_rows=("matrix", np.array([shapes[n][0] for n in names], dtype=np.int64), {"long_name": "rows of the PyTorch weight (out features)", "units": "1"}),
                n_cols=("matrix", np.array([shapes[n][1] for n in names], dtype=np.int64), {"long_name": "columns of the PyTorch weight (in features)", "units": "1"}),
                kind=("matrix", np.array([self.kinds.get(n, "other") for n in names], dtype=object), {"long_name": "kind of matrix"}),
                iteration=("iteration", np.arange(1, len(self.batch_loss) + 1, dtype=np.int64), {"long_name": "SGD step of the minibatch loss", "units": "1"}),
            ),
            attrs=dict(svd_backend=", ".join(sorted(self.drivers)),
                       orientation="PyTorch (out, in); spectra are orientation-free; q = min/max"),
        )
        return ds
