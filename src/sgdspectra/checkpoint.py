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
from .recording import SpectrumRecorder
from .training import Callback, Trainer

log = logging.getLogger(__name__)

__all__ = ["Checkpointer", "checkpoint_path"]


def checkpoint_path(output: str | Path) -> Path:
    return Path(str(output) + ".ckpt")


def _rows_to_tensors(rows: list[dict]) -> list[dict]:
    """Snapshot rows with numpy arrays as tensors (loadable with weights_only=True)."""
    out = []
    for row in rows:
        conv = {}
        for key, value in row.items():
            if isinstance(value, dict):
                conv[key] = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in value.items()}
            else:
                conv[key] = value
        out.append(conv)
    return out


def _rows_from_tensors(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        conv = {}
        for key, value in row.items():
            if isinstance(value, dict):
                conv[key] = {k: v.numpy() if isinstance(v, torch.Tensor) else (tuple(v) if isinstance(v, list) else v)
                             for k, v in value.items()}
            else:
                conv[key] = value
        out.append(conv)
    return out


class Checkpointer(Callback):
    """Saves a checkpoint every ``every`` steps; :meth:`restore` resumes from one."""

    def __init__(self, path: str | Path, every: int, recorder: SpectrumRecorder, config_json: str,
                 extras: dict[str, Any] | None = None) -> None:
        """``extras``: further callbacks with ``state_dict()``/``load_state_dict()`` (tensors, numbers,
        strings, lists and dicts only) saved and restored with the checkpoint."""
        self.path = Path(path)
        self.extras = dict(extras or {})
        self.every = int(every)
        self.recorder = recorder
        self.fingerprint = hashlib.sha256(config_json.encode()).hexdigest()

    def _state(self, trainer: Trainer, step: int) -> dict:
        return {
            "fingerprint": self.fingerprint, "step": step,
            "model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict(), "torch_rng": torch.random.get_rng_state(),
            "order": trainer.task.order_state(), "rows": _rows_to_tensors(self.recorder.rows),
            "batch_loss": list(self.recorder.batch_loss), "kinds": dict(self.recorder.kinds),
            "drivers": sorted(self.recorder.drivers),
            "extras": {name: obj.state_dict() for name, obj in self.extras.items()},
        }

    def on_step_end(self, trainer: Trainer, step: int, batch_loss: float) -> None:
        if self.every > 0 and step % self.every == 0 and step < trainer.cfg.steps:
            with atomic_path(self.path, suffix=".tmp.ckpt") as tmp:
                torch.save(self._state(trainer, step), tmp)
            log.info("checkpoint at step %d written to %s", step, self.path)

    def on_train_end(self, trainer: Trainer) -> None:
        self.path.unlink(missing_ok=True)

    def restore(self, trainer: Trainer) -> int:
        """Load the checkpoint into ``trainer`` and the recorder; return its step (0 if none)."""
        if not self.path.exists():
            return 0
        try:
            state = torch.load(self.path, map_location=trainer.device, weights_only=True)
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
        self.recorder.rows = _rows_from_tensors(state["rows"])
        self.recorder.batch_loss = list(state["batch_loss"])
        self.recorder.kinds = dict(state["kinds"])
        self.recorder.drivers = set(state["drivers"])
        for name, obj in self.extras.items():
            obj.load_state_dict(state["extras"][name])
        log.info("resumed from checkpoint %s at step %d", self.path, state["step"])
        return int(state["step"])
