"""Training tasks: how to draw a minibatch, compute the loss and evaluate a split.

``ClassificationTask`` serves the MLP and the ViT (image arrays); ``LanguageModelTask`` serves the
GPT (a token stream, next-character prediction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .data import ArrayDataset

__all__ = ["ClassificationTask", "LanguageModelTask", "Task"]

#: Examples per forward pass when a classification split is evaluated.
EVAL_CHUNK = 2048


class Task:
    """Interface used by :class:`sgdspectra.training.Trainer`."""

    n_train: int

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float]:
        raise NotImplementedError

    def probe_batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A training minibatch drawn from ``rng`` (independent of the training order)."""
        raise NotImplementedError

    def order_state(self) -> dict:
        """The state of the minibatch order (saved in checkpoints)."""
        raise NotImplementedError

    def set_order_state(self, state: dict) -> None:
        raise NotImplementedError


@dataclass
class ClassificationTask(Task):
    """Minibatches reshuffled every epoch; the last partial batch is dropped so every step uses B."""

    data: ArrayDataset
    batch_size: int
    order_seed: int
    device: str = "cpu"
    _perm: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.x = {"train": torch.as_tensor(self.data.x_train, device=self.device),
                  "val": torch.as_tensor(self.data.x_val, device=self.device)}
        self.y = {"train": torch.as_tensor(self.data.y_train, device=self.device),
                  "val": torch.as_tensor(self.data.y_val, device=self.device)}
        self.n_train = len(self.data.y_train)
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {self.n_train} training examples")
        self._gen = torch.Generator().manual_seed(self.order_seed)
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pos + self.batch_size > self._perm.numel():
            self._perm = torch.randperm(self.n_train, generator=self._gen)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size].to(self.device)
        self._pos += self.batch_size
        return self.x["train"][idx], self.y["train"][idx]

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(x), y)

    def order_state(self) -> dict:
        return {"generator": self._gen.get_state(), "perm": self._perm.clone(), "pos": self._pos}

    def set_order_state(self, state: dict) -> None:
        self._gen.set_state(state["generator"])
        self._perm, self._pos = state["perm"].clone(), int(state["pos"])

    def probe_batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(rng.choice(self.n_train, self.batch_size, replace=False), device=self.device)
        return self.x["train"][idx], self.y["train"][idx]

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float]:
        """Mean cross-entropy and accuracy over the whole split, in chunks of ``EVAL_CHUNK`` examples
        (a CNN's activations on all 50,000 CIFAR-10 images would take gigabytes at once)."""
        x, y = self.x[split], self.y[split]
        loss_sum, correct = 0.0, 0
        for start in range(0, len(y), EVAL_CHUNK):
            logits = model(x[start : start + EVAL_CHUNK])
            yc = y[start : start + EVAL_CHUNK]
            loss_sum += float(F.cross_entropy(logits, yc, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yc).sum())
        return loss_sum / len(y), correct / len(y)


@dataclass
class LanguageModelTask(Task):
    """Random contiguous windows of ``block_size`` characters; losses on fixed evaluation windows."""

    train_tokens: np.ndarray
    val_tokens: np.ndarray
    block_size: int
    batch_size: int
    order_seed: int
    eval_windows: int = 64
    device: str = "cpu"

    def __post_init__(self) -> None:
        for split, toks in (("train", self.train_tokens), ("val", self.val_tokens)):
            if toks.size <= self.block_size + 1:
                raise ValueError(f"the {split} text has {toks.size} characters, fewer than block_size + 2")
        self.n_train = int(self.train_tokens.size)
        self._rng = np.random.default_rng(self.order_seed)
        self._eval = {s: self._windows(t) for s, t in (("train", self.train_tokens), ("val", self.val_tokens))}

    def _windows(self, tokens: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        starts = np.linspace(0, tokens.size - self.block_size - 1, self.eval_windows).astype(np.int64)
        return self._gather(tokens, starts)

    def _gather(self, tokens: np.ndarray, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        offsets = np.arange(self.block_size)
        x = tokens[starts[:, None] + offsets]  # (B, T)
        y = tokens[starts[:, None] + offsets + 1]  # (B, T): next characters
        return torch.as_tensor(x, device=self.device), torch.as_tensor(y, device=self.device)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        starts = self._rng.integers(0, self.train_tokens.size - self.block_size - 1, self.batch_size)
        return self._gather(self.train_tokens, starts)

    def order_state(self) -> dict:
        return {"bit_generator": self._rng.bit_generator.state}

    def set_order_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state["bit_generator"]

    def probe_batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        starts = rng.integers(0, self.train_tokens.size - self.block_size - 1, self.batch_size)
        return self._gather(self.train_tokens, starts)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = model(x)  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float]:
        x, y = self._eval[split]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return float(loss), float((logits.argmax(dim=-1) == y).float().mean())
