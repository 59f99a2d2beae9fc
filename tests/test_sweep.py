"""Temperature-sweep table and log-log slope estimates on synthetic runs with a known scaling."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sgdspectra.io import write_dataset
from sgdspectra.sweep import loglog_slope, sweep_table


def test_loglog_slope_recovers_a_power_law_with_a_valid_interval():
    rng = np.random.default_rng(0)
    x = np.geomspace(1e-3, 1, 30)
    y = 2.0 * x**1.5 * np.exp(rng.normal(0, 0.05, x.size))
    res = loglog_slope(x, y)
    assert res["low"] < 1.5 < res["high"] and res["high"] - res["low"] < 0.1 and res["n"] == 30
    assert np.isnan(loglog_slope([1, 2], [1, 2])["slope"])  # too few points: NaN, not a number


def test_sweep_table_reads_eta_batch_and_noise_from_runs(tmp_path):
    runs, fits = [], []
    for i, (lr, b) in enumerate([(0.1, 16), (0.05, 32), (0.02, 64)]):
        cfg = {"train": {"lr": lr, "momentum": 0.5, "batch_size": b, "weight_decay": 0.01}}
        d = 1e-4 * (i + 1)
        ds = xr.Dataset({"noise_D": (("step", "matrix"), np.full((3, 1), d)), "lr": ("step", [lr] * 3)},
                        coords={"step": [0, 5, 10], "matrix": ["w"], "kind": ("matrix", ["mlp_hidden"])},
                        attrs={"status": "complete", "model": f"s{i}", "seed": 0, "config_json": json.dumps(cfg)})
        write_dataset(ds, tmp_path / f"r{i}.nc")
        runs.append(tmp_path / f"r{i}.nc")
        f = pd.DataFrame([{"model": f"s{i}", "seed": 0, "matrix": "w", "step": 10, "status": "ok",
                           "law": "marchenko_pastur", "variance": 0.5 + i, "alpha": np.nan},
                          {"model": f"s{i}", "seed": 0, "matrix": "w", "step": 10, "status": "ok",
                           "law": "power_law", "variance": np.nan, "alpha": 3.0 + i}])
        f.to_csv(tmp_path / f"f{i}.csv", index=False)
        fits.append(tmp_path / f"f{i}.csv")
    table = sweep_table(runs, fits)
    row = table.iloc[0]
    assert row.eta == pytest.approx(0.1 / 0.5) and row.eta_over_B == pytest.approx(0.2 / 16)
    assert row.D == pytest.approx(1e-4) and row.eta_D == pytest.approx(0.2e-4)
    assert row.predicted_variance == pytest.approx(0.2e-4 / 0.01)
    assert list(table.mp_variance) == [0.5, 1.5, 2.5] and list(table.alpha) == [3.0, 4.0, 5.0]
