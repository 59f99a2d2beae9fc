"""Side-car checkpoints: a killed training job, rerun, resumes where it stopped.

The checkpoint lives beside the run file (``spectra.nc.ckpt``), outside the rule's declared
outputs, because Snakemake deletes the outputs of failed jobs. It holds the model, optimiser and
scheduler states, the step, every random state that drives training (the global torch RNG and the
minibatch order), and the snapshots recorded so far, so that a resumed run is identical to an
uninterrupted one (same seed, CPU). It is written atomically and removed after a successful run;
a checkpoint made with another configuration is ignored (and replaced).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .io import atomic_path
from .training import Callback, Trainer

log = logging.getLogger(__name__)

__all__ = ["Checkpointer", "checkpoint_path", "from_tensors", "to_tensors"]

#: Layout of the checkpoint file; part of the fingerprint, so a file in an older layout is ignored
#: (training restarts from step 0) instead of failing to load. Bump it when the layout changes.
CHECKPOINT_FORMAT = 2


def checkpoint_path(output: str | Path) -> Path:
    return Path(str(output) + ".ckpt")


def to_tensors(obj: Any) -> Any:
    """A copy of a nest of dicts, lists and tuples with every numpy array as a tensor (so that it
    loads with ``weights_only=True``); :func:`from_tensors` undoes it."""
    if isinstance(obj, np.ndarray):
        return torch.as_tensor(obj)
    if isinstance(obj, dict):
        return {k: to_tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_tensors(v) for v in obj)
    return obj


def from_tensors(obj: Any) -> Any:
    """A copy of a nest of dicts, lists and tuples with every tensor as a numpy array."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu().numpy()
    if isinstance(obj, dict):
        return {k: from_tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_tensors(v) for v in obj)
    return obj


class Checkpointer(Callback):
    """Saves a checkpoint every ``every`` steps; :meth:`restore` resumes from one."""

    def __init__(self, path: str | Path, every: int, config_json: str, callbacks: dict[str, Any]) -> None:
        """``callbacks``: the recording callbacks, each with ``state_dict()``/``load_state_dict()``
        (tensors, numbers, strings, lists, tuples and dicts only), saved and restored by name."""
        self.path = Path(path)
        self.callbacks = dict(callbacks)
        self.every = int(every)
        self.fingerprint = hashlib.sha256(f"format {CHECKPOINT_FORMAT}\n{config_json}".encode()).hexdigest()

    def _state(self, trainer: Trainer, step: int) -> dict:
        return {
            "fingerprint": self.fingerprint, "step": step,
            "model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict(), "torch_rng": torch.random.get_rng_state(),
            "order": trainer.task.order_state(),
            "callbacks": {name: obj.state_dict() for name, obj in self.callbacks.items()},
        }

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        if self.every > 0 and step % self.every == 0 and step < trainer.cfg.steps:
            with atomic_path(self.path, suffix=".tmp.ckpt") as tmp:
                torch.save(self._state(trainer, step), tmp)
            log.info("checkpoint at step %d written to %s", step, self.path)

    def on_train_end(self, trainer: Trainer) -> None:
        self.path.unlink(missing_ok=True)

    def restore(self, trainer: Trainer) -> int:
        """Load the checkpoint into ``trainer`` and the callbacks; return its step (0 if none)."""
        if not self.path.exists():
            return 0
        try:
            # on the CPU: RNG states must be CPU tensors; model and optimiser states move on loading
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a damaged side-car file must not block a fresh start
            log.warning("ignoring unreadable checkpoint %s (%s); starting from step 0", self.path, exc)
            return 0
        if state.get("fingerprint") != self.fingerprint:
            log.warning("ignoring checkpoint %s made with another configuration; starting from step 0", self.path)
            return 0
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.scheduler.load_state_dict(state["scheduler"])
        torch.random.set_rng_state(state["torch_rng"])
        trainer.task.set_order_state(state["order"])
        for name, obj in self.callbacks.items():
            obj.load_state_dict(state["callbacks"][name])
        log.info("resumed from checkpoint %s at step %d", self.path, state["step"])
        return int(state["step"])
