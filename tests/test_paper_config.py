"""config/paper.yaml (experiments A, B, C): valid, plans a full workflow (dry run), and each model trains a few steps on CPU."""

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_fake_cifar10, write_fake_mnist

from sgdspectra.architecture import matrix_layout
from sgdspectra.config import ModelConfig, load_config

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "config" / "paper.yaml"


def test_paper_config_holds_the_papers_settings():
    cfg = load_config(PAPER)
    assert len(cfg["seeds"]) == 5
    mlp, vit, gpt = cfg["models"]["mlp"], cfg["models"]["vit"], cfg["models"]["gpt"]
    assert mlp["hidden"] == [1024, 1024, 1024] and mlp["data"]["name"] == "mnist"
    assert (mlp["train"]["lr"], mlp["train"]["momentum"]) == (0.01, 0.9)
    assert vit["transformer"]["patch_size"] == 7 and vit["transformer"]["n_embd"] == 64
    assert (gpt["transformer"]["n_layer"], gpt["transformer"]["n_head"], gpt["transformer"]["block_size"]) == (2, 2, 128)
    t = gpt["train"]
    assert (t["weight_decay"], t["warmup_steps"], t["steps"], t["grad_clip"]) == (0.1, 200, 2000, 1.0)
    assert cfg["models"]["mlp_c"]["train"]["lr"] == 0.1 and cfg["models"]["mlp_c"]["train"]["steps"] == 1000
    cnn = cfg["models"]["cnn"]  # experiment B: one epoch of plain SGD on CIFAR-10, fc1 2048 -> 120
    assert cnn["architecture"] == "cnn" and cnn["data"]["name"] == "cifar10"
    assert (cnn["cnn"]["channels"], cnn["cnn"]["fc_hidden"]) == ([16, 32], [120])
    t = cnn["train"]
    assert (t["steps"], t["batch_size"], t["lr"], t["momentum"], t["weight_decay"], t["schedule"]) == (
        782, 64, 0.01, 0.0, 0.0, "constant")
    assert -(-50_000 // t["batch_size"]) == t["steps"]  # one epoch as the paper counts it
    assert ("fc1", "fc") in matrix_layout(cnn)


def test_paper_config_dry_run(tmp_path):
    shutil.copy(PAPER, tmp_path / "paper.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "-n", "--cores", "2", "--configfile", str(tmp_path / "paper.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for rule in ("download_data", "train_model", "simulate_sde", "plot_kind_evolution", "make_table_fits"):
        assert rule in out
    for target in ("results/data/mnist.verified", "results/data/cifar10.verified", "results/data/tiny_shakespeare.verified",
                   "results/runs/cnn/seed4/spectra.nc", "results/sde/cnn/seed0/fc1/eigen.nc",
                   "results/figures/evolution_conv_cnn_seed0.png"):
        assert target in out, target


@pytest.mark.parametrize("name", ["mlp", "mlp_c", "vit", "gpt", "cnn"])
def test_paper_models_train_a_few_steps_on_cpu(name, tmp_path, monkeypatch):
    from sgdspectra import cifar, mnist
    from sgdspectra.train import train_and_record

    spec = copy.deepcopy(yaml.safe_load(PAPER.read_text())["models"][name])
    spec["train"].update(steps=3, device="cpu", warmup_steps=min(spec["train"].get("warmup_steps", 0), 1))
    spec["snapshots"] = {"log_points": 1, "log_until": 1, "every": 3}
    if spec["data"]["name"] == "mnist":  # offline stand-in with the real file format
        hashes = write_fake_mnist(tmp_path / "data")
        monkeypatch.setattr(mnist, "MNIST_SHA256", hashes)
        spec["data"]["dir"] = str(tmp_path / "data")
    elif spec["data"]["name"] == "cifar10":  # offline stand-in: a small archive in the real binary format
        sha, _ = write_fake_cifar10(tmp_path / "data", n_per_batch=16)
        monkeypatch.setattr(cifar, "CIFAR10_SHA256", sha)
        spec["data"]["dir"] = str(tmp_path / "data")
    else:  # Tiny Shakespeare cannot be downloaded here: same architecture on a local text file
        text = tmp_path / "play.txt"
        text.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 200)
        spec["data"] = {"name": "text_file", "path": str(text), "val_fraction": 0.1}
    cfg = ModelConfig.from_dict(name, spec)
    ds = train_and_record(cfg, 0, tmp_path / "run.nc")
    assert ds.attrs["status"] == "complete" and list(ds.step.values) == [0, 1, 3]
    full = load_config(PAPER)["models"][name]
    assert [str(m) for m in ds.matrix.values] == [n for n, _ in matrix_layout(full)]


def test_slurm_profile_dry_run_requests_a_gpu_for_training(tmp_path):  # CASES 25 (dry-run half)
    shutil.copy(REPO / "config" / "tiny.yaml", tmp_path / "tiny.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path), "-n",
         "--profile", str(REPO / "profiles" / "slurm"), "--configfile", str(tmp_path / "tiny.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    block = out[out.index("rule train_model:"):]
    block = block[: block.index("\n\n")]
    assert "gpu=1" in block and "slurm_partition=" in block
