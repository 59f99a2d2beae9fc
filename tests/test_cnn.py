"""The CNN of experiment B: shapes, analysed matrices, initialisation, config checks, and a short
training run through the normal trainer on CIFAR-shaped data."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from conftest import write_fake_cifar10
from torch.nn import functional as F

from sgdspectra import cifar
from sgdspectra.architecture import cnn_specs, matrix_layout
from sgdspectra.cnn import CNN
from sgdspectra.config import ConfigError, ModelConfig, validate_config
from sgdspectra.models import build_model

PAPER_CNN = {"architecture": "cnn", "data": {"name": "cifar10"}}


def _model(spec: dict | None = None, seed: int = 0) -> CNN:
    return build_model(ModelConfig.from_dict("cnn", copy.deepcopy(spec or PAPER_CNN)), seed)


def test_paper_cnn_shapes():
    model = _model()
    assert [c.out_channels for c in model.convs] == [16, 32]
    assert (model.fcs[0].in_features, model.fcs[0].out_features) == (2048, 120)  # 32 x 8 x 8 -> 120
    assert (model.fcs[1].in_features, model.fcs[1].out_features) == (120, 10)
    x = torch.randn(5, 3 * 32 * 32)
    out = model(x)
    assert out.shape == (5, 10)
    torch.testing.assert_close(model(x.reshape(5, 3, 32, 32)), out)  # flat and image inputs agree


def test_weight_matrices_names_kinds_shapes():
    model = _model()
    got = [(name, kind, tuple(w.shape)) for name, kind, w in model.weight_matrices()]
    assert got == [("conv1", "conv", (16, 27)), ("conv2", "conv", (32, 144)),
                   ("fc1", "fc", (120, 2048)), ("fc2", "head", (10, 120))]
    specs = cnn_specs([16, 32], 3, [120], "cifar10")
    assert [(s.name, s.kind, (s.n_rows, s.n_cols)) for s in specs] == got
    layout = matrix_layout(validate_config({"models": {"cnn": copy.deepcopy(PAPER_CNN)}})["models"]["cnn"])
    assert layout == [(n, k) for n, k, _ in got]


def test_other_sizes_and_data_sets_agree_with_the_layout():
    spec = {"architecture": "cnn", "cnn": {"channels": [4, 6, 8], "kernel_size": 5, "fc_hidden": [12, 7]},
            "data": {"name": "mnist"}}
    model = _model(spec)
    got = [(n, k, tuple(w.shape)) for n, k, w in model.weight_matrices()]
    # 28 -> 14 -> 7 -> 3 (floor): 8 x 3 x 3 = 72 features.
    assert got == [("conv1", "conv", (4, 25)), ("conv2", "conv", (6, 100)), ("conv3", "conv", (8, 150)),
                   ("fc1", "fc", (12, 72)), ("fc2", "fc", (7, 12)), ("fc3", "head", (10, 7))]
    assert model(torch.randn(2, 784)).shape == (2, 10)
    digits = _model({"architecture": "cnn", "data": {"name": "digits"}})  # 8 -> 4 -> 2: 32 x 2 x 2
    assert digits.fcs[0].in_features == 128 and digits(torch.randn(3, 64)).shape == (3, 10)


def test_conv_matrix_is_the_operator_applied_to_each_patch():
    """conv(x) at every position = W_mat @ (the k x k x in patch there) + b, with W_mat = weight.flatten(1)."""
    model = _model(seed=3)
    conv = model.convs[1]
    w_mat = dict((n, w) for n, _, w in model.weight_matrices())["conv2"]
    x = torch.randn(2, 16, 16, 16)
    patches = F.unfold(x, kernel_size=3, padding=1)  # (B, 16*3*3, 256), same (in, kh, kw) order
    expected = (w_mat @ patches + conv.bias[:, None]).reshape(2, 32, 16, 16)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)
    # A view of the parameter: the recorder sees the trained weights and their gradients.
    assert w_mat._base is conv.weight
    with torch.no_grad():
        conv.weight[5, 2, 1, 0] = 123.0
    assert float(w_mat.detach()[5, 2 * 9 + 1 * 3 + 0]) == 123.0


def test_init_normal_fan_in_and_pytorch_default():
    model = _model(seed=1)
    for layer in [*model.convs, *model.fcs]:
        fan_in = layer.weight[0].numel()
        w = layer.weight.detach().double()
        se = 1.0 / math.sqrt(2 * w.numel())  # relative standard error of a sample std
        assert abs(float(w.std()) * math.sqrt(fan_in) - 1.0) < 5 * se + 0.01, layer
        assert abs(float(w.mean())) * math.sqrt(fan_in) < 5 / math.sqrt(w.numel())
        assert float(layer.bias.detach().abs().max()) == 0.0
    default = _model({**PAPER_CNN, "init": "pytorch_default"}, seed=1)
    fc1 = default.fcs[0]
    assert float(fc1.weight.detach().abs().max()) <= 1 / math.sqrt(2048)
    assert float(fc1.weight.detach().std()) == pytest.approx(1 / math.sqrt(3 * 2048), rel=0.02)  # U(-a, a): std a/sqrt(3)
    assert float(fc1.bias.detach().abs().max()) > 0
    # Same seed, same weights; another seed, other weights.
    torch.testing.assert_close(_model(seed=1).fcs[0].weight, model.fcs[0].weight)
    assert not torch.equal(_model(seed=2).fcs[0].weight, model.fcs[0].weight)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"architecture": "cnn", "data": {"name": "pydoc"}},
         "'models.m.data.name': cnn needs an image data set (digits, mnist, cifar10), got 'pydoc'"),
        ({"architecture": "cnn", "cnn": {"kernel_size": 4}}, "'models.m.cnn.kernel_size': must be odd"),
        ({"architecture": "cnn", "cnn": {"channels": [4, 4, 4, 4]}},
         "'models.m.cnn.channels': 4 blocks, each halving the side, shrink the 8x8 images of digits to nothing"),
        ({"architecture": "cnn", "cnn": {"channels": []}}, "'models.m.cnn.channels'"),
        ({"architecture": "cnn", "cnn": {"strides": 2}}, "'models.m.cnn.strides' is unknown"),
    ],
)
def test_config_rejects_bad_cnn_settings(spec, message):
    with pytest.raises(ConfigError) as err:
        validate_config({"models": {"m": spec}})
    assert message in str(err.value)


def test_constructor_rejects_even_kernels_and_vanishing_maps():
    with pytest.raises(ValueError, match="odd"):
        CNN(32, 3, 10, kernel_size=2)
    with pytest.raises(ValueError, match="to nothing"):
        CNN(8, 1, 10, channels=(2, 2, 2, 2))


def test_short_training_run_on_cifar_shaped_data_records_every_matrix(tmp_path, monkeypatch):
    """The normal path: the cifar10 loader (a small fake archive in the real format), the trainer,
    the spectrum recorder with gradient noise, and the run file."""
    from sgdspectra.io import read_dataset
    from sgdspectra.train import train_and_record

    sha, _ = write_fake_cifar10(tmp_path / "data", n_per_batch=16)
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", sha)
    spec = {**copy.deepcopy(PAPER_CNN), "data": {"name": "cifar10", "dir": str(tmp_path / "data")},
            "train": {"steps": 4, "batch_size": 16, "lr": 0.01, "checkpoint_every": 0},
            "snapshots": {"log_points": 0, "log_until": 1, "every": 2, "noise_batches": 3}}
    cfg = ModelConfig.from_dict("cnn", spec)
    train_and_record(cfg, 0, tmp_path / "run.nc")
    ds = read_dataset(tmp_path / "run.nc")
    assert ds.attrs["status"] == "complete" and ds.attrs["dataset"] == "cifar10"
    assert ds.attrs["n_train"] == 80 and ds.attrs["n_val"] == 16
    assert list(ds.step.values) == [0, 2, 4]
    assert [str(m) for m in ds.matrix.values] == ["conv1", "conv2", "fc1", "fc2"]
    assert [str(k) for k in ds.kind.values] == ["conv", "conv", "fc", "head"]
    assert list(ds.n_rows.values) == [16, 32, 120, 10] and list(ds.n_cols.values) == [27, 144, 2048, 120]
    fc1 = ds.sigma.sel(matrix="fc1").values  # (step, k)
    assert np.isfinite(fc1).sum(axis=1).tolist() == [120, 120, 120]
    assert np.isnan(ds.sigma.sel(matrix="fc2").values[:, 10:]).all()
    # Weights move: the spectra of step 4 differ from those of step 0.
    assert not np.allclose(fc1[0], fc1[-1])
    # Gradient noise is measured for the conv matrices too (through the view of the kernel).
    assert np.isfinite(ds.noise_D.values).all() and (ds.noise_D.values > 0).all()
    # Initial fc1 spectrum: an N(0, 1/2048) 120 x 2048 matrix has sigma within the MP edges
    # sqrt(1/2048) * (sqrt(2048) +- sqrt(120)) = 1 +- 0.242 (plus finite-size fluctuations).
    assert 1.242 - 0.05 < fc1[0, 0] < 1.242 + 0.05 and 0.758 - 0.05 < fc1[0, 119] < 0.758 + 0.05


def test_evaluation_in_chunks_equals_the_whole_split(monkeypatch):
    """Splits are evaluated in chunks (memory); the mean loss and accuracy must not depend on it."""
    from sgdspectra import tasks
    from sgdspectra.data import ArrayDataset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 64)).astype(np.float32)
    y = rng.integers(0, 10, 23)
    task = tasks.ClassificationTask(ArrayDataset("digits", x, y, x[:5], y[:5], 10), 4, 0)
    model = _model({"architecture": "cnn", "data": {"name": "digits"}})
    with torch.no_grad():
        logits = model(torch.as_tensor(x))
    expected = (float(F.cross_entropy(logits, torch.as_tensor(y))),
                float((logits.argmax(1) == torch.as_tensor(y)).float().mean()))
    monkeypatch.setattr(tasks, "EVAL_CHUNK", 7)  # 23 = 7 + 7 + 7 + 2
    loss, acc = task.evaluate(model, "train")
    assert loss == pytest.approx(expected[0], rel=1e-6) and acc == pytest.approx(expected[1], abs=1e-6)
