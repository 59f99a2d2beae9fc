"""One training run end to end: data, model, SGD with snapshots, the run file on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import xarray as xr

from .architecture import matrix_specs
from .config import ModelConfig
from .data import load_dataset
from .io import write_dataset
from .models import build_model
from .provenance import provenance_attrs
from .recording import SpectrumRecorder
from .runtime import resolve_device
from .schedule import snapshot_steps
from .training import ProgressLogger, Trainer, TrainingDiverged, derive_seeds

log = logging.getLogger(__name__)

__all__ = ["train_and_record"]


def train_and_record(cfg: ModelConfig, seed: int, output: str | Path | None = None) -> xr.Dataset:
    """Train ``cfg`` with ``seed``, recording spectra on the configured schedule.

    Returns the run Dataset and, when ``output`` is given, writes it there atomically. If training
    diverges, the snapshots recorded before the bad step are kept, the Dataset is marked
    ``status = "diverged"`` with ``diverged_at_step``, and an error "diverged at step k" is logged;
    downstream readers refuse such a file (:func:`sgdspectra.io.require_complete`).
    """
    device = resolve_device(cfg.train.device)
    data = load_dataset(cfg.data)
    init_seed, order_seed = derive_seeds(seed)
    model = build_model(cfg, init_seed)
    steps = snapshot_steps(cfg.train.steps, cfg.snapshots.log_points, cfg.snapshots.log_until, cfg.snapshots.every)
    kinds = {m.name: m.kind for m in matrix_specs(cfg.architecture, cfg.hidden, cfg.data.name)}
    recorder = SpectrumRecorder(steps, kinds)
    progress = ProgressLogger(cfg.train.steps, cfg.train.log_every_s, label=f"{cfg.name} seed {seed}")
    trainer = Trainer(model, data, cfg.train, order_seed=order_seed, device=device, callbacks=[recorder, progress])
    log.info("training %s (seed %d) on %s for %d steps, %d snapshots", cfg.name, seed, device, cfg.train.steps, steps.size)
    status, extra = "complete", {"message": f"trained {cfg.train.steps} steps"}
    try:
        trainer.fit()
    except TrainingDiverged as exc:
        log.error("%s seed %d %s; keeping the %d snapshots recorded before it", cfg.name, seed, exc, len(recorder.rows))
        status, extra = "diverged", {"diverged_at_step": exc.step, "message": str(exc)}
        if not recorder.rows:
            raise
    ds = recorder.to_dataset()
    ds.attrs.update(provenance_attrs(
        config=cfg.to_json(), seed=seed, device=device, title=f"sgdspectra run {cfg.name} seed {seed}",
        model=cfg.name, status=status, **extra,
    ))
    if output is not None:
        write_dataset(ds, output)
    return ds
