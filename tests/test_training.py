"""Training loop, snapshots, divergence, data and model construction."""

import logging

import numpy as np
import pytest
import torch

from sgdspectra.architecture import matrix_specs
from sgdspectra.config import DataConfig, ModelConfig
from sgdspectra.data import load_dataset, train_val_split
from sgdspectra.io import IncompleteRunError, require_complete
from sgdspectra.models import build_model
from sgdspectra.recording import analysed_matrices
from sgdspectra.spectra import singular_values
from sgdspectra.train import train_and_record


def small_cfg(hidden=(16,), **train):
    spec = {"hidden": list(hidden), "train": {"steps": 30, "batch_size": 16, "lr": 0.05, **train},
            "snapshots": {"log_points": 3, "log_until": 10, "every": 10}}
    return ModelConfig.from_dict("tiny", spec)


def test_digits_data_is_real_and_split_is_fixed():
    data = load_dataset(DataConfig())
    assert data.x_train.shape[1] == 64 and data.n_classes == 10
    assert len(data.y_train) + len(data.y_val) == 1797
    again = load_dataset(DataConfig())
    np.testing.assert_array_equal(data.y_val, again.y_val)
    tr, va = train_val_split(100, np.repeat(np.arange(4), 25), 0.2, 0)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 100


def test_model_matrices_match_architecture_and_init_variance():
    cfg = ModelConfig.from_dict("m", {"hidden": [256, 256]})
    model = build_model(cfg, 0)
    specs = matrix_specs(cfg.architecture, cfg.hidden, cfg.data.name)
    got = [(name, tuple(p.shape)) for name, _, p in analysed_matrices(model)]
    assert got == [(s.name, (s.n_rows, s.n_cols)) for s in specs]
    w = model.layers[1].weight.detach().numpy()
    # N(0, 1/fan_in) with fan_in = 256: sample variance within 3 % (65,536 entries, SE ~0.6 %).
    assert abs(w.var() * 256 - 1.0) < 0.03
    w2 = build_model(cfg, 0).layers[1].weight.detach().numpy()
    np.testing.assert_array_equal(w, w2)


def test_training_learns_and_records_every_matrix(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    cfg = small_cfg(steps=200, log_every_s=1e-9)
    ds = train_and_record(cfg, seed=0, output=tmp_path / "run.nc")
    assert (tmp_path / "run.nc").exists()
    assert ds.attrs["status"] == "complete"
    assert ds.step.values[0] == 0 and ds.step.values[-1] == 200
    assert ds.val_accuracy.values[-1] > 0.5 > ds.val_accuracy.values[0]
    assert ds.batch_loss.sizes["iteration"] == 200
    assert list(ds.matrix.values) == ["layers.0", "layers.1"]
    sig = ds.sigma.sel(matrix="layers.1").values  # 10 x 16: 10 values, NaN beyond
    assert np.all(np.isfinite(sig[:, :10])) and np.all(np.isnan(sig[:, 10:]))
    assert np.all(np.diff(sig[:, :10], axis=1) <= 0)
    assert "steps/s" in caplog.text and "ETA" in caplog.text


def test_recorded_spectrum_equals_svd_of_the_model_at_that_step():
    cfg = small_cfg(steps=5)
    ds = train_and_record(cfg, seed=3)
    # Rebuild the initial weights from the same seed: step-0 spectrum must match exactly.
    from sgdspectra.training import derive_seeds

    model = build_model(cfg, derive_seeds(3)[0])
    for name, _, p in analysed_matrices(model):
        expected = singular_values(p)
        got = ds.sigma.sel(step=0, matrix=name).values[: expected.size]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_same_seed_same_run_different_seed_different_run():
    a = train_and_record(small_cfg(), seed=1)
    b = train_and_record(small_cfg(), seed=1)
    c = train_and_record(small_cfg(), seed=2)
    np.testing.assert_array_equal(a.sigma.values, b.sigma.values)
    assert not np.allclose(a.sigma.values[-1, 0, :5], c.sigma.values[-1, 0, :5])


def test_divergence_stops_with_step_and_keeps_finite_partial(tmp_path, caplog):  # CASES 2
    cfg = small_cfg(hidden=(128, 128), steps=300, lr=10.0)
    ds = train_and_record(cfg, seed=0, output=tmp_path / "run.nc")
    assert ds.attrs["status"] == "diverged"
    k = int(ds.attrs["diverged_at_step"])
    assert f"diverged at step {k}" in ds.attrs["message"]
    assert f"diverged at step {k}" in caplog.text
    assert "failed to converge" not in caplog.text
    assert ds.step.values.max() < k
    assert np.all(np.isfinite(ds.sigma.values) | np.isnan(ds.sigma.values))
    assert np.isfinite(np.nanmax(ds.sigma.values))
    from sgdspectra.io import read_dataset

    stored = read_dataset(tmp_path / "run.nc")
    with pytest.raises(IncompleteRunError, match="diverged"):
        require_complete(stored)


def test_cuda_request_without_gpu_fails_fast():
    if torch.cuda.is_available():  # pragma: no cover
        pytest.skip("a GPU is present")
    from sgdspectra.runtime import NoGPUError

    with pytest.raises(NoGPUError, match="no CUDA GPU"):
        train_and_record(small_cfg(device="cuda"), seed=0)


def test_a_job_holding_a_gpu_refuses_to_train_on_the_cpu(tmp_path):  # CASES 25
    """A training job given a GPU by the scheduler (resources gpu=1) with device auto must find CUDA;
    the same job without a GPU resource trains on the CPU and records it."""
    if torch.cuda.is_available():  # pragma: no cover
        pytest.skip("a GPU is present")
    from sgdspectra import pipeline
    from sgdspectra.runtime import NoGPUError

    spec = {"hidden": [8], "train": {"steps": 5, "batch_size": 16, "device": "auto"},
            "snapshots": {"log_points": 1, "log_until": 2, "every": 5}}
    with pytest.raises(NoGPUError, match="no CUDA GPU"):
        pipeline.train_model("m", spec, 0, tmp_path / "a.nc", 1, gpus=1)
    assert not (tmp_path / "a.nc").exists()
    pipeline.train_model("m", spec, 0, tmp_path / "b.nc", 1, gpus=0)
    import xarray as xr

    with xr.open_dataset(tmp_path / "b.nc") as ds:
        assert ds.attrs["device"] == "cpu"


def test_batch_size_larger_than_data_is_an_error():
    with pytest.raises(ValueError, match="batch_size"):
        train_and_record(small_cfg(batch_size=100000), seed=0)
