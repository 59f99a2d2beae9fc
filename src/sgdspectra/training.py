"""A small SGD training loop with callbacks (in the spirit of minGPT's trainer).

Callbacks see the trainer after each event; :class:`sgdspectra.recording.SpectrumRecorder` is the
callback that records spectra. The loop checks the loss at every step and all parameters after
every update: a non-finite value raises :class:`TrainingDiverged` ("diverged at step k") before any
spectrum is computed from bad weights.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import ArrayDataset

log = logging.getLogger(__name__)

__all__ = ["Callback", "ProgressLogger", "Trainer", "TrainingDiverged", "derive_seeds"]


class TrainingDiverged(RuntimeError):
    """Loss or weights became non-finite; ``step`` is the first bad step."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


class Callback:
    """Hooks of :class:`Trainer`; subclasses override what they need."""

    def on_train_start(self, trainer: Trainer) -> None:  # step 0, before any update
        pass

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass


def derive_seeds(seed: int) -> tuple[int, int]:
    """Independent seeds for the initial weights and for the minibatch order of one run."""
    init_seed, order_seed = np.random.SeedSequence(seed).generate_state(2)
    return int(init_seed), int(order_seed)


@dataclass
class _Batches:
    """Reshuffle every epoch; drop the last partial batch so every step uses exactly B examples."""

    n: int
    batch_size: int
    generator: torch.Generator
    device: str

    def __post_init__(self) -> None:
        if self.batch_size > self.n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {self.n} training examples")
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def next(self) -> torch.Tensor:
        if self._pos + self.batch_size > self._perm.numel():
            self._perm = torch.randperm(self.n, generator=self.generator)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx.to(self.device)


class Trainer:
    """Plain (momentum) SGD on a classification data set with cross-entropy loss."""

    def __init__(
        self, model: nn.Module, data: ArrayDataset, cfg: TrainConfig, *, order_seed: int,
        device: str = "cpu", callbacks: list[Callback] | None = None,
    ) -> None:
        self.model = model.to(device)
        self.cfg = cfg
        self.device = device
        self.callbacks = list(callbacks or [])
        self.x_train = torch.as_tensor(data.x_train, device=device)
        self.y_train = torch.as_tensor(data.y_train, device=device)
        self.x_val = torch.as_tensor(data.x_val, device=device)
        self.y_val = torch.as_tensor(data.y_val, device=device)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
        self.loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(order_seed)
        self._batches = _Batches(len(self.y_train), cfg.batch_size, gen, device)
        self.step = 0

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @torch.no_grad()
    def evaluate(self, split: str) -> tuple[float, float]:
        """Mean cross-entropy and accuracy on the full ``train`` or ``val`` split."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_val, self.y_val)
        was_training = self.model.training
        self.model.eval()
        logits = self.model(x)
        loss = float(self.loss_fn(logits, y))
        acc = float((logits.argmax(dim=1) == y).float().mean())
        self.model.train(was_training)
        return loss, acc

    def _check_weights(self, step: int) -> None:
        for name, p in self.model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise TrainingDiverged(step, f"parameter {name!r} has non-finite entries")

    def fit(self) -> None:
        """Run ``cfg.steps`` SGD steps; raises :class:`TrainingDiverged` on a non-finite value."""
        self.model.train()
        self._check_weights(0)
        for cb in self.callbacks:
            cb.on_train_start(self)
        for step in range(1, self.cfg.steps + 1):
            idx = self._batches.next()
            loss = self.loss_fn(self.model(self.x_train[idx]), self.y_train[idx])
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise TrainingDiverged(step, f"minibatch loss is {loss_value}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self._check_weights(step)
            self.step = step
            for cb in self.callbacks:
                cb.on_step_end(self, step, loss_value)
        for cb in self.callbacks:
            cb.on_train_end(self)


class ProgressLogger(Callback):
    """Logs a line with steps/s and ETA every ``every_s`` seconds (and at the end)."""

    def __init__(self, total_steps: int, every_s: float = 5.0, label: str = "") -> None:
        self.total = total_steps
        self.every_s = every_s
        self.label = f"{label}: " if label else ""

    def on_train_start(self, trainer: Trainer) -> None:
        self._t0 = self._last = time.perf_counter()

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        now = time.perf_counter()
        if now - self._last >= self.every_s or step == self.total:
            self._last = now
            rate = step / max(now - self._t0, 1e-9)
            eta = (self.total - step) / rate
            log.info(
                "%sstep %d/%d (%.0f%%), %.0f steps/s, ETA %.0f s, batch loss %.4f",
                self.label, step, self.total, 100.0 * step / self.total, rate, eta, batch_loss,
            )
