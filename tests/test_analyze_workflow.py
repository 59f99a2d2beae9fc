"""``sgdspectra analyze`` on a run's saved weights agrees with the workflow's own fits.

The train rule writes the final ``state_dict`` next to the run file (``model.pt``); rule
``fit_laws`` fits the recorded spectra. Both compute the singular values with
:func:`sgdspectra.spectra.singular_values` and fit ``lam = sigma**2`` with
:func:`sgdspectra.fitting.fit_power_law`, so at the last step (whose weights are the saved ones)
alpha, xmin and D must agree to floating-point tolerance for every matrix that is a whole
parameter. The library is called directly for training and fitting (as the rules do), the CLI
through a subprocess, exactly as a user runs it.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from sgdspectra.config import ModelConfig
from sgdspectra.models import build_model
from sgdspectra.pipeline import fit_laws
from sgdspectra.train import train_and_record



def _analyze_cli(path: Path, *extra: str) -> dict:
    exe = shutil.which("sgdspectra", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from sgdspectra.cli import main; sys.exit(main())"]
    proc = subprocess.run([*cmd, "analyze", str(path), "--json", "--quiet", *extra],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _parameter_names(cfg: ModelConfig) -> dict[str, str]:
    """Workflow matrix name -> state_dict key, for the matrices that are whole parameters.

    Matrices that are views of a parameter (W_Q, W_K, W_V split from a fused projection) have no
    key of their own: ``analyze`` sees the fused parameter, as WeightWatcher does.
    """
    model = build_model(cfg, 0)
    by_id = {id(p): name for name, p in model.named_parameters()}
    return {name: by_id[id(w)] for name, _, w in model.weight_matrices() if id(w) in by_id}


def _train_fit_analyze(
    tmp_path: Path, name: str, spec: dict, min_tail: int | None = None
) -> tuple[pd.DataFrame, dict, dict[str, str]]:
    """Train (final weights saved as the train rule does), fit_laws, analyze; ``min_tail=None``
    keeps both defaults (config ``fits.min_tail`` and ``analyze --min-tail``)."""
    cfg = ModelConfig.from_dict(name, spec)
    run_dir = tmp_path / "runs" / name / "seed0"
    spectra, weights = run_dir / "spectra.nc", run_dir / "model.pt"
    train_and_record(cfg, 0, spectra, weights)
    fit_kw = {} if min_tail is None else {"min_tail": min_tail, "min_values": 5}
    cli_kw = () if min_tail is None else ("--min-tail", str(min_tail), "--min-evals", "5")
    fits = fit_laws(spectra, tmp_path / "fits" / f"{name}.csv", **fit_kw)
    last = fits[(fits.step == fits.step.max()) & (fits.law == "power_law")].set_index("matrix")
    # the saved file is a plain state_dict: it loads with weights_only=True
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    return last, _analyze_cli(weights, *cli_kw), _parameter_names(cfg)


def _assert_agree(last: pd.DataFrame, report: dict, names: dict[str, str]) -> int:
    layers = {row["name"]: row for row in report["layers"]}
    skipped = {s["name"]: s["reason"] for s in report["skipped"]}
    compared = 0
    for matrix, key in names.items():
        fit = last.loc[matrix]
        if key in skipped:  # too small for analyze: the workflow's fit must not be ok either
            assert fit.status != "ok", (matrix, skipped[key])
            continue
        row = layers[key]
        assert (row["n_rows"], row["n_cols"]) == (int(fit.n_rows), int(fit.n_cols)), matrix
        assert row["power_law_status"] == fit.status, matrix
        if fit.status != "ok":
            assert row["alpha"] is None, matrix
            continue
        assert row["alpha"] == pytest.approx(float(fit.alpha), rel=1e-9, abs=0), matrix
        assert row["xmin"] == pytest.approx(float(fit.xmin), rel=1e-9, abs=0), matrix
        assert row["D"] == pytest.approx(float(fit.ks), rel=1e-9, abs=1e-12), matrix
        assert row["n_tail"] == int(fit.n_tail), matrix
        compared += 1
    return compared


def test_mlp_alpha_agrees_with_fit_laws(tmp_path):
    """The default run's architecture with the default settings of both sides (min_tail 10)."""
    spec = {
        "hidden": [48, 32],
        "train": {"steps": 80, "batch_size": 16, "lr": 0.05},
        "snapshots": {"log_points": 3, "log_until": 20, "every": 40},
    }
    last, report, names = _train_fit_analyze(tmp_path, "mlp", spec)
    assert names == {f"layers.{i}": f"layers.{i}.weight" for i in range(3)}
    assert _assert_agree(last, report, names) == 3
    # every other entry of the file (the biases) is listed as skipped, not dropped
    assert {s["name"] for s in report["skipped"]} == {f"layers.{i}.bias" for i in range(3)}
    # the workflow recorded the same spectrum that analyze computed: same largest eigenvalue
    for row in report["layers"]:
        assert math.isfinite(row["lambda_max"]) and row["lambda_max"] > 0


def test_vit_whole_parameters_agree_with_fit_laws(tmp_path):
    spec = {
        "architecture": "vit",
        "transformer": {"n_layer": 1, "n_head": 2, "n_embd": 32, "mlp_ratio": 2.0, "patch_size": 4},
        "train": {"steps": 30, "batch_size": 16, "lr": 0.05, "momentum": 0.9},
        "snapshots": {"log_points": 2, "log_until": 10, "every": 30},
    }
    last, report, names = _train_fit_analyze(tmp_path, "vit", spec, min_tail=5)
    views = set(last.index) - set(names)
    assert views == {"blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v"}
    assert "blocks.0.attn.qkv.weight" in {row["name"] for row in report["layers"]}  # the fused parameter
    assert _assert_agree(last, report, names) >= 4
