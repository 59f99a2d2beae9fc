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

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .tasks import Task

log = logging.getLogger(__name__)

__all__ = ["Callback", "ProgressLogger", "Trainer", "TrainingDiverged", "derive_seeds", "lr_multiplier", "param_groups"]


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


def lr_multiplier(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step`` (0-based update index) as a fraction of ``cfg.lr``."""
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule != "warmup_cosine":
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(cfg.steps - cfg.warmup_steps, 1)
    progress = min((step - cfg.warmup_steps) / span, 1.0)
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """One group (weight decay everywhere) or two (decay on 2-D weights only)."""
    params = list({id(p): p for p in model.parameters() if p.requires_grad}.values())
    if not cfg.weight_decay_2d_only:
        return [{"params": params, "weight_decay": cfg.weight_decay}]
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


class Trainer:
    """SGD (momentum, weight decay, schedule, clipping) on a :class:`~sgdspectra.tasks.Task`."""

    def __init__(
        self, model: nn.Module, task: Task, cfg: TrainConfig, *, device: str = "cpu",
        callbacks: list[Callback] | None = None,
    ) -> None:
        self.model = model.to(device)
        self.task = task
        self.cfg = cfg
        self.device = device
        self.callbacks = list(callbacks or [])
        self.optimizer = torch.optim.SGD(param_groups(self.model, cfg), lr=cfg.lr, momentum=cfg.momentum)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda k: lr_multiplier(cfg, k))
        self.step = 0

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def evaluate(self, split: str) -> tuple[float, float]:
        """Mean cross-entropy and accuracy on the ``train`` or ``val`` split (eval mode)."""
        was_training = self.model.training
        self.model.eval()
        try:
            return self.task.evaluate(self.model, split)
        finally:
            self.model.train(was_training)

    def _check_weights(self, step: int) -> None:
        for name, p in self.model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise TrainingDiverged(step, f"parameter {name!r} has non-finite entries")

    def fit(self, start_step: int = 0) -> None:
        """Run SGD steps ``start_step + 1 .. cfg.steps`` (``start_step > 0`` after restoring a
        checkpoint); raises :class:`TrainingDiverged` on a non-finite value."""
        self.model.train()
        self._check_weights(start_step)
        self.step = start_step
        for cb in self.callbacks:
            cb.on_train_start(self)
        for step in range(start_step + 1, self.cfg.steps + 1):
            x, y = self.task.sample()
            loss = self.task.loss(self.model, x, y)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise TrainingDiverged(step, f"minibatch loss is {loss_value}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
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
        self._start = trainer.step

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        now = time.perf_counter()
        if now - self._last >= self.every_s or step == self.total:
            self._last = now
            rate = (step - self._start) / max(now - self._t0, 1e-9)
            eta = (self.total - step) / rate
            log.info(
                "%sstep %d/%d (%.0f%%), %.0f steps/s, ETA %.0f s, batch loss %.4f",
                self.label, step, self.total, 100.0 * step / self.total, rate, eta, batch_loss,
            )
