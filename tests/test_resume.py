"""Resumable training: a killed run, rerun, resumes from its side-car checkpoint and ends with the
same spectra as an uninterrupted run (same seed, CPU)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sgdspectra.checkpoint import checkpoint_path
from sgdspectra.config import ModelConfig
from sgdspectra.io import read_dataset
from sgdspectra.train import train_and_record

SPEC = {"hidden": [64, 64], "train": {"steps": 1500, "batch_size": 16, "lr": 0.05, "momentum": 0.9,
                                       "checkpoint_every": 100},
        "snapshots": {"log_points": 3, "log_until": 10, "every": 250, "noise_batches": 2}}


def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path):
    cfg = ModelConfig.from_dict("mlp", SPEC)
    reference = train_and_record(cfg, seed=4)  # no output: no checkpoints
    out = tmp_path / "spectra.nc"
    code = ("import json, sys; from sgdspectra.config import ModelConfig; from sgdspectra.train import train_and_record;"
            "train_and_record(ModelConfig.from_dict('mlp', json.loads(sys.argv[1])), 4, sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(SPEC), str(out)],
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    ckpt = checkpoint_path(out)
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # let it run past the first checkpoint
    if proc.poll() is not None:
        pytest.fail("training finished before it could be killed; make the run longer")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed job must leave nothing at its output path"
    assert ckpt.exists()
    resumed = train_and_record(cfg, seed=4, output=out)
    assert int(resumed.attrs["resumed_from_step"]) >= 100
    np.testing.assert_array_equal(resumed.step.values, reference.step.values)
    np.testing.assert_array_equal(resumed.sigma.values, reference.sigma.values)
    np.testing.assert_array_equal(resumed.batch_loss.values, reference.batch_loss.values)
    assert not ckpt.exists(), "the checkpoint is removed after a successful run"
    assert read_dataset(out).attrs["status"] == "complete"


def test_checkpoint_of_another_configuration_is_ignored(tmp_path):
    out = tmp_path / "spectra.nc"
    spec = {**SPEC, "train": {**SPEC["train"], "steps": 250}}

    class Stop(Exception):
        pass

    import sgdspectra.training as training

    original = training.ProgressLogger.on_step_end

    def stop_at_150(self, trainer, step, loss):
        original(self, trainer, step, loss)
        if step == 150:
            raise Stop

    training.ProgressLogger.on_step_end = stop_at_150
    try:
        with pytest.raises(Stop):
            train_and_record(ModelConfig.from_dict("mlp", spec), seed=1, output=out)
    finally:
        training.ProgressLogger.on_step_end = original
    assert checkpoint_path(out).exists() and not out.exists()
    other = {**spec, "train": {**spec["train"], "lr": 0.02}}
    ds = train_and_record(ModelConfig.from_dict("mlp", other), seed=1, output=out)
    assert "resumed_from_step" not in ds.attrs  # started from step 0
    again = train_and_record(ModelConfig.from_dict("mlp", other), seed=1)
    np.testing.assert_array_equal(ds.sigma.values, again.sigma.values)


def test_checkpoint_in_an_older_layout_is_ignored(tmp_path, monkeypatch):
    """A side-car file written by an older checkpoint layout (same configuration) restarts training
    from step 0 instead of failing on a missing key."""
    import torch

    from sgdspectra import checkpoint

    spec = {**SPEC, "train": {**SPEC["train"], "steps": 40, "checkpoint_every": 20}}
    cfg = ModelConfig.from_dict("mlp", spec)
    out = tmp_path / "spectra.nc"
    monkeypatch.setattr(checkpoint, "CHECKPOINT_FORMAT", checkpoint.CHECKPOINT_FORMAT - 1)
    fingerprint = checkpoint.Checkpointer(checkpoint_path(out), 20, cfg.to_json() + "1", {}).fingerprint
    torch.save({"fingerprint": fingerprint, "step": 20, "rows": []}, checkpoint_path(out))  # the old layout
    monkeypatch.undo()
    ds = train_and_record(cfg, seed=1, output=out)
    assert "resumed_from_step" not in ds.attrs
    np.testing.assert_array_equal(ds.sigma.values, train_and_record(cfg, seed=1).sigma.values)
