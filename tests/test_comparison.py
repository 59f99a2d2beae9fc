"""Tests of sgdspectra.comparison against exact properties of KS and Wasserstein-1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import make_sde_dataset

from sgdspectra.comparison import COLUMNS, compare_sde_to_observed


def test_identical_samples_give_zero_distances(run_dataset: xr.Dataset) -> None:
    sde = {m: make_sde_dataset(run_dataset, m, noise=0.0) for m in ("layers.0", "layers.1")}
    table = compare_sde_to_observed(run_dataset, sde)
    assert list(table.columns) == list(COLUMNS)
    assert table["matrix"].tolist() == ["layers.0", "layers.1"]
    assert np.allclose(table["ks"], 0.0)
    assert np.allclose(table["wasserstein1"], 0.0, atol=1e-12)
    assert np.allclose(table["rel_error_top1"], 0.0, atol=1e-12)
    assert np.allclose(table["obs_mean_lam"], table["sim_mean_lam"])
    row = table.iloc[0]
    assert row["step"] == 40 and row["t"] == pytest.approx(0.05 * 40)
    assert (row["n_rows"], row["n_cols"], row["n_obs"], row["n_sim"]) == (32, 16, 16, 6 * 16)
    assert row["s"] == pytest.approx(1e-3) and row["gamma"] == pytest.approx(1e-2)


def test_known_shift_gives_wasserstein_equal_to_shift(run_dataset: xr.Dataset) -> None:
    shift = 0.37
    sde = {"layers.1": make_sde_dataset(run_dataset, "layers.1", noise=0.0, shift=shift)}
    row = compare_sde_to_observed(run_dataset, sde).iloc[0]
    assert row["wasserstein1"] == pytest.approx(shift, rel=1e-10)
    assert row["sim_mean_lam"] - row["obs_mean_lam"] == pytest.approx(shift, rel=1e-10)
    lam = run_dataset["sigma"].sel(matrix="layers.1", step=40).values ** 2
    assert row["rel_error_top1"] == pytest.approx(shift / np.nanmax(lam), rel=1e-10)
    assert 0.0 < row["ks"] <= 1.0
    assert 0.0 <= row["ks_pvalue"] <= 1.0


def test_uses_last_step_shared_with_the_run(run_dataset: xr.Dataset) -> None:
    sde_ds = make_sde_dataset(run_dataset, "layers.0", noise=0.0)
    extended = xr.concat([sde_ds, sde_ds.isel(t=[-1]).assign_coords(t=[9.9], step=("t", [99]))],
                         dim="t")
    row = compare_sde_to_observed(run_dataset, {"layers.0": extended}).iloc[0]
    assert row["step"] == 40
    assert row["ks"] == pytest.approx(0.0)


def test_no_shared_step_and_unknown_matrix_are_errors(run_dataset: xr.Dataset) -> None:
    sde_ds = make_sde_dataset(run_dataset, "layers.0").assign_coords(step=("t", [1, 2, 3, 5]))
    with pytest.raises(ValueError, match="no step"):
        compare_sde_to_observed(run_dataset, {"layers.0": sde_ds})
    with pytest.raises(KeyError, match="nope"):
        compare_sde_to_observed(run_dataset, {"nope": make_sde_dataset(run_dataset, "layers.0")})


def test_empty_input_gives_empty_frame_with_columns(run_dataset: xr.Dataset) -> None:
    table = compare_sde_to_observed(run_dataset, {})
    assert isinstance(table, pd.DataFrame) and table.empty
    assert list(table.columns) == list(COLUMNS)
