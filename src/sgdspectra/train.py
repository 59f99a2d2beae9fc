"""One training run end to end: data, model, SGD with snapshots, the run file on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr
from torch import nn

from .config import ModelConfig
from .io import atomic_path, write_dataset
from .models import build_model
from .provenance import provenance_attrs
from .recording import SpectrumRecorder
from .runtime import resolve_device
from .schedule import snapshot_steps
from .tasks import ClassificationTask, LanguageModelTask, Task
from .training import ProgressLogger, Trainer, TrainingDiverged, derive_seeds

log = logging.getLogger(__name__)

__all__ = ["build_task_and_model", "train_and_record"]


def build_task_and_model(cfg: ModelConfig, seed: int, device: str = "cpu") -> tuple[Task, nn.Module, dict]:
    """The data task and the freshly initialised model of one run, plus data facts for provenance."""
    init_seed, order_seed = derive_seeds(seed)
    if cfg.architecture == "gpt":
        from .text import load_text_dataset

        text = load_text_dataset(cfg.data.name, path=cfg.data.path or None, data_dir=cfg.data.dir,
                                 val_fraction=cfg.data.val_fraction)
        task: Task = LanguageModelTask(text.train_tokens, text.val_tokens, cfg.transformer.block_size,
                                       cfg.train.batch_size, order_seed, cfg.train.eval_windows, device)
        vocab = text.tokenizer.vocab_size
        facts = {"dataset": text.name, "vocab_size": vocab, "train_characters": int(text.train_tokens.size)}
        return task, build_model(cfg, init_seed, vocab_size=vocab), facts
    from .data import load_dataset

    data = load_dataset(cfg.data)
    task = ClassificationTask(data, cfg.train.batch_size, order_seed, device)
    facts = {"dataset": data.name, "n_train": len(data.y_train), "n_val": len(data.y_val)}
    return task, build_model(cfg, init_seed), facts


def train_and_record(cfg: ModelConfig, seed: int, output: str | Path | None = None,
                     weights_output: str | Path | None = None) -> xr.Dataset:
    """Train ``cfg`` with ``seed``, recording spectra on the configured schedule.

    Returns the run Dataset and, when ``output`` is given, writes it there atomically. When
    ``weights_output`` is given, the final ``state_dict`` (tensors only, loadable with
    ``torch.load(..., weights_only=True)`` and by ``sgdspectra analyze``) is written there atomically. If training
    diverges, the snapshots recorded before the bad step are kept, the Dataset is marked
    ``status = "diverged"`` with ``diverged_at_step``, and an error "diverged at step k" is logged;
    downstream readers refuse such a file (:func:`sgdspectra.io.require_complete`).
    """
    device = resolve_device(cfg.train.device)
    task, model, facts = build_task_and_model(cfg, seed, device)
    steps = snapshot_steps(cfg.train.steps, cfg.snapshots.log_points, cfg.snapshots.log_until, cfg.snapshots.every)
    recorder = SpectrumRecorder(steps, cfg.snapshots.noise_batches, noise_seed=derive_seeds(seed)[1] + 1)
    progress = ProgressLogger(cfg.train.steps, cfg.train.log_every_s, label=f"{cfg.name} seed {seed}")
    extras = measurement_callbacks(cfg, seed, steps)
    callbacks = [recorder, *extras.values(), progress]
    checkpointer = None
    if output is not None and cfg.train.checkpoint_every > 0:
        from .checkpoint import Checkpointer, checkpoint_path

        checkpointer = Checkpointer(checkpoint_path(output), cfg.train.checkpoint_every, cfg.to_json() + str(seed),
                                    {"recorder": recorder, **extras})
        callbacks.append(checkpointer)
    trainer = Trainer(model, task, cfg.train, device=device, callbacks=callbacks)
    start = checkpointer.restore(trainer) if checkpointer is not None else 0
    log.info("training %s (%s, seed %d) on %s for %d steps, %d snapshots; %s",
             cfg.name, cfg.architecture, seed, device, cfg.train.steps, steps.size, facts)
    status, extra = "complete", {"message": f"trained {cfg.train.steps} steps"}
    try:
        trainer.fit(start)
    except TrainingDiverged as exc:
        log.error("%s seed %d %s; keeping the %d snapshots recorded before it", cfg.name, seed, exc, len(recorder.rows))
        status, extra = "diverged", {"diverged_at_step": exc.step, "message": str(exc)}
        if checkpointer is not None:  # a diverged run must not be resumed
            checkpointer.path.unlink(missing_ok=True)
        if not recorder.rows:
            raise
    ds = recorder.to_dataset()
    ds = add_measurements(ds, extras, cfg)
    if start:
        extra["resumed_from_step"] = start
    ds.attrs.update(provenance_attrs(
        config=cfg.to_json(), seed=seed, device=device, title=f"sgdspectra run {cfg.name} seed {seed}",
        model=cfg.name, architecture=cfg.architecture, status=status, **facts, **extra,
    ))
    if weights_output is not None:
        save_state_dict(model, weights_output)
    if output is not None:
        write_dataset(ds, output)
    return ds


def measurement_callbacks(cfg: ModelConfig, seed: int, snapshot_steps: np.ndarray) -> dict:
    """The optional dynamics recorder and first-order tracker of ``cfg`` (keyed for checkpoints)."""
    from .dynamics import DynamicsRecorder, dynamics_anchors
    from .tracker import SingularTracker, forecast_start

    out: dict = {}
    dyn = cfg.dynamics
    anchors = dynamics_anchors(cfg.train.steps, dyn.windows, dyn.gap)
    if anchors.size:
        out["dynamics"] = DynamicsRecorder(anchors, dyn.gap, dyn.matrices, dyn.probe_batches,
                                           seed=derive_seeds(seed)[1] + 2)
    if cfg.tracking.matrices:
        t0 = forecast_start(snapshot_steps, cfg.tracking.start_step)
        out["tracker"] = SingularTracker(t0, snapshot_steps, cfg.tracking.matrices, cfg.tracking.top_k)
    return out


def add_measurements(ds: xr.Dataset, extras: dict, cfg: ModelConfig) -> xr.Dataset:
    """Merge the dynamics measurements and the tracker's record into the run Dataset."""
    names = [str(n) for n in ds["matrix"].values]
    k_max = ds.sizes["k"]
    new: dict = {}
    if "dynamics" in extras:
        new.update(extras["dynamics"].to_variables(names, k_max))
        ds.attrs.update(dynamics_gap=cfg.dynamics.gap, dynamics_probe_batches=cfg.dynamics.probe_batches,
                        dynamics_weight_decay=cfg.train.weight_decay, dynamics_momentum=cfg.train.momentum)
    if "tracker" in extras:
        new.update(extras["tracker"].to_variables(ds["step"].values, names, k_max))
        ds.attrs.update(tracking_start_step=extras["tracker"].start, tracking_top_k=cfg.tracking.top_k)
    if not new:
        return ds
    coords = {k: new.pop(k) for k in ("dyn_step",) if k in new}
    return ds.assign_coords(coords).assign(new)


def save_state_dict(model: nn.Module, path: str | Path) -> None:
    """Write the model's ``state_dict`` (CPU tensors, no pickled code) to ``path`` atomically."""
    import torch

    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
