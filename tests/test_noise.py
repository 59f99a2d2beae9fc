"""Gradient-noise intensity D measured at snapshots, against exact per-sample gradients."""

import numpy as np
import torch

from sgdspectra.config import DataConfig, ModelConfig, TrainConfig
from sgdspectra.data import load_dataset
from sgdspectra.models import build_model
from sgdspectra.recording import analysed_matrices, gradient_noise
from sgdspectra.tasks import ClassificationTask
from sgdspectra.training import Trainer


def test_noise_estimator_matches_exact_per_sample_variance():
    data = load_dataset(DataConfig())
    batch = 16
    model = build_model(ModelConfig.from_dict("m", {"hidden": [8]}), 0)
    task = ClassificationTask(data, batch, order_seed=0)
    trainer = Trainer(model, task, TrainConfig(batch_size=batch))
    # Exact per-sample gradients of the first layer over the whole training split.
    x, y = task.x["train"], task.y["train"]
    w = model.layers[0].weight
    per_sample = []
    for i in range(len(y)):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        per_sample.append(w.grad.detach().double().numpy().copy())
    g = np.stack(per_sample)
    n = len(y)
    # Minibatches drawn without replacement: Var(mean of B) = sigma^2 / B * (N - B) / (N - 1).
    expected = float((g.var(axis=0) / batch * (n - batch) / (n - 1)).mean() / 2)
    noise, norm = gradient_noise(trainer, n_batches=600, seed=1)
    # 600 batches: the variance estimate has relative error ~ sqrt(2/600) = 6 %; allow 15 %.
    assert abs(noise["layers.0"] / expected - 1) < 0.15
    assert set(noise) == {name for name, _, _ in analysed_matrices(model)}
    assert all(p.grad is None for p in model.parameters())  # probing leaves no gradient behind


def test_noise_is_recorded_in_the_run_file_for_split_qkv():
    from sgdspectra.train import train_and_record

    spec = {"architecture": "gpt", "data": {"name": "pydoc"}, "transformer": {"n_layer": 1, "n_head": 2, "n_embd": 16,
            "block_size": 16}, "train": {"steps": 4, "batch_size": 4}, "snapshots": {"log_points": 0, "every": 4,
            "noise_batches": 3}}
    ds = train_and_record(ModelConfig.from_dict("g", spec), 0)
    assert ds.noise_D.dims == ("step", "matrix")
    assert np.all(np.isfinite(ds.noise_D.values)) and np.all(ds.noise_D.values > 0)
    off = train_and_record(ModelConfig.from_dict("g", {**spec, "snapshots": {**spec["snapshots"], "noise_batches": 0}}), 0)
    assert np.all(np.isnan(off.noise_D.values))
    np.testing.assert_array_equal(off.sigma.values, ds.sigma.values)  # probing does not change training
