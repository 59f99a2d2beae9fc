"""Rule entry points on real (tiny) runs: fits, SDE, tables, figures; tiny layers (CASES 9)."""

import numpy as np
import pandas as pd
import pytest

from sgdspectra import pipeline
from sgdspectra.config import ModelConfig
from sgdspectra.io import IncompleteRunError
from sgdspectra.train import train_and_record


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A run whose layers include Linear(64->3) and Linear(3->1)-like tiny matrices."""
    root = tmp_path_factory.mktemp("runs")
    cfg = ModelConfig.from_dict("narrow", {"hidden": [48, 3, 1], "train": {"steps": 20, "batch_size": 8},
                                           "snapshots": {"log_points": 2, "log_until": 5, "every": 10}})
    path = root / "run.nc"
    train_and_record(cfg, 0, path)
    return root, path


def test_sde_time_is_lr_times_step():
    import xarray as xr

    run = xr.Dataset({"lr": ("step", [0.1, 0.1, 0.1])}, coords={"step": [0, 10, 30]})
    np.testing.assert_allclose(pipeline.sde_time(run), [0.0, 1.0, 3.0])
    run = xr.Dataset({"lr": ("step", [0.1, 0.2])}, coords={"step": [0, 10]})
    np.testing.assert_allclose(pipeline.sde_time(run), [0.0, 1.0])


def test_tiny_layers_are_fitted_with_status_and_kept_in_tables(tiny_runs, tmp_path):
    root, path = tiny_runs
    fits = pipeline.fit_laws(path, tmp_path / "fits.csv", min_tail=10, min_values=10)
    shapes = {m: (r, c) for m, r, c in fits[["matrix", "n_rows", "n_cols"]].drop_duplicates().itertuples(index=False)}
    assert shapes["layers.1"] == (3, 48) and shapes["layers.2"] == (1, 3)
    small = fits[fits.matrix.isin(["layers.1", "layers.2"])]
    assert set(small.status) <= {"too_few_values", "degenerate"}
    params = ["alpha", "xmin", "variance", "shape", "rate", "ks", "loglik"]
    assert small[params].isna().all().all()
    table = pipeline.make_table_fits([tmp_path / "fits.csv"], tmp_path / "t.csv", tmp_path / "t.md")
    assert {"layers.0", "layers.1", "layers.2", "layers.3"} <= set(table.matrix)
    assert "layers.2" in (tmp_path / "t.md").read_text()


def synthetic_run(path, sigma_start, sigma_end, n_rows, n_cols, lr=0.01, steps=(0, 50, 100)):
    """A complete run file with a prescribed first and last spectrum (middle = average)."""
    import xarray as xr

    from sgdspectra.io import write_dataset

    k = min(n_rows, n_cols)
    sig = np.stack([sigma_start, (np.asarray(sigma_start) + sigma_end) / 2, sigma_end])[:, None, :k]
    ds = xr.Dataset(
        {"sigma": (("step", "matrix", "k"), sig), "lr": ("step", np.full(3, lr))},
        coords={"step": list(steps), "matrix": ["w"], "k": np.arange(k), "n_rows": ("matrix", [n_rows]),
                "n_cols": ("matrix", [n_cols]), "kind": ("matrix", ["mlp_hidden"])},
        attrs={"status": "complete", "model": "synthetic", "seed": 0},
    )
    write_dataset(ds, path)
    return ds


def test_simulate_sde_auto_matches_observed_energy(tmp_path):
    m, n = 20, 10
    synthetic_run(tmp_path / "run.nc", np.linspace(2.0, 1.0, n), np.linspace(3.0, 1.5, n), m, n)
    out = pipeline.simulate_sde(tmp_path / "run.nc", "w", tmp_path / "sde.nc", s="auto", gamma=0.0,
                                n_replicas=400, n_times=3, seed=1)
    assert out.lam.dims == ("replica", "t", "k") and out.sizes["k"] == n
    np.testing.assert_allclose(out.t.values, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(out.step.values, [0, 50, 100])
    observed = float(np.sum(np.linspace(3.0, 1.5, n) ** 2))
    expected_s = (observed - float(np.sum(np.linspace(2.0, 1.0, n) ** 2))) / (m * n * 1.0)
    np.testing.assert_allclose(float(out.attrs["s"]), expected_s, rtol=1e-12)
    simulated = out.lam.isel(t=-1).sum("k")
    # The calibrated s makes the ensemble mean of ||W||_F^2 equal the observed one (3 SE).
    se = float(simulated.std()) / np.sqrt(simulated.size)
    assert abs(float(simulated.mean()) - observed) < 3 * se
    np.testing.assert_allclose(out.lam.isel(t=0, replica=0).values, np.linspace(2.0, 1.0, n) ** 2, rtol=1e-10)
    comparison = pipeline.compare_sde(tmp_path / "run.nc", [tmp_path / "sde.nc"], tmp_path / "cmp.csv")
    assert comparison.loc[0, "matrix"] == "w" and 0 <= comparison.loc[0, "ks"] <= 1


def test_simulate_sde_auto_with_shrinking_energy_uses_zero_noise(tmp_path):
    synthetic_run(tmp_path / "run.nc", np.linspace(3.0, 1.5, 10), np.linspace(2.0, 1.0, 10), 20, 10)
    out = pipeline.simulate_sde(tmp_path / "run.nc", "w", tmp_path / "sde.nc", s="auto", n_replicas=2, n_times=3)
    assert float(out.attrs["s"]) == 0.0 and "failed" in out.attrs["s_calibration"]
    np.testing.assert_allclose(out.lam.isel(t=-1, replica=0).values, np.linspace(3.0, 1.5, 10) ** 2, rtol=1e-10)


def test_simulate_sde_on_a_single_value_matrix(tiny_runs, tmp_path):
    root, path = tiny_runs
    out = pipeline.simulate_sde(path, "layers.3", tmp_path / "sde1.nc", s=1e-3, n_replicas=3, n_times=2, seed=0)
    assert out.sizes["k"] == 1 and np.all(np.isfinite(out.lam.values))
    with pytest.raises(KeyError, match="no matrix"):
        pipeline.simulate_sde(path, "nope", tmp_path / "x.nc")


def test_every_figure_draws_from_stored_products(tiny_runs, tmp_path):
    root, path = tiny_runs
    pipeline.fit_laws(path, tmp_path / "fits.csv")
    sde_paths = []
    for m in ["layers.0", "layers.1"]:
        p = tmp_path / f"{m}.nc"
        pipeline.simulate_sde(path, m, p, n_replicas=3, n_times=2, seed=0)
        sde_paths.append(p)
    pipeline.compare_sde(path, sde_paths, tmp_path / "cmp.csv")
    for fig in ["esd_evolution", "sv_trajectories", "stationary_fits", "sde_vs_observed", "training_curves"]:
        png, pdf = tmp_path / f"{fig}.png", tmp_path / f"{fig}.pdf"
        pipeline.plot_figure(fig, path, png, pdf, fits_path=tmp_path / "fits.csv", sde_paths=sde_paths,
                             comparison_path=tmp_path / "cmp.csv")
        assert png.stat().st_size > 1000 and pdf.stat().st_size > 1000
    with pytest.raises(ValueError, match="unknown figure"):
        pipeline.plot_figure("nope", path, tmp_path / "a.png", tmp_path / "a.pdf")


def test_downstream_refuses_a_diverged_run(tmp_path):
    cfg = ModelConfig.from_dict("hot", {"hidden": [128, 128], "train": {"steps": 300, "lr": 10.0}})
    path = tmp_path / "run.nc"
    train_and_record(cfg, 0, path)
    with pytest.raises(IncompleteRunError, match="diverged at step"):
        pipeline.fit_laws(path, tmp_path / "fits.csv")
    assert not (tmp_path / "fits.csv").exists()
    with pytest.raises(IncompleteRunError):
        pipeline.plot_figure("esd_evolution", path, tmp_path / "a.png", tmp_path / "a.pdf")


def test_fit_rows_carry_run_identifiers(tiny_runs, tmp_path):
    root, path = tiny_runs
    fits = pipeline.fit_laws(path, tmp_path / "fits.csv")
    back = pd.read_csv(tmp_path / "fits.csv")
    assert list(back.columns[:7]) == pipeline.FIT_ID_COLUMNS
    assert (back.model == "narrow").all() and (back.seed == 0).all()
    assert len(back) == len(fits)
