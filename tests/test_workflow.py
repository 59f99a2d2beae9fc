"""Integration: the real Snakemake workflow on a tiny config in a temporary directory."""


import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import run_snakemake

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def finished_run(tiny_workflow):
    """The tiny run shared with the report test (tests/conftest.py): (workdir, process, seconds)."""
    return tiny_workflow


def test_full_run_produces_every_product(finished_run):
    workdir, proc, elapsed = finished_run
    res = workdir / "results"
    with xr.open_dataset(res / "runs/tiny/seed0/spectra.nc") as ds:
        ds.load()
    assert ds.attrs["status"] == "complete"
    assert list(ds.matrix.values) == ["layers.0", "layers.1"]
    assert ds.sigma.dims == ("step", "matrix", "k") and ds.sigma.dtype == np.float64
    assert int(ds.step[-1]) == 60
    for name in ("esd_evolution", "sv_trajectories", "stationary_fits", "sde_vs_observed", "sde_levels",
                 "training_curves"):
        for ext in ("png", "pdf"):
            f = res / f"figures/{name}_tiny_seed0.{ext}"
            assert f.stat().st_size > 1000, f
    fits = pd.read_csv(res / "fits/tiny/seed0.csv")
    assert set(fits.law) == {"marchenko_pastur", "power_law", "eq13", "gamma_exact"}
    assert len(fits) == 4 * ds.sizes["step"] * ds.sizes["matrix"]
    assert set(fits.status) <= {"ok", "too_few_values", "degenerate", "nonfinite", "failed"}
    for matrix in ("layers.0", "layers.1"):
        with xr.open_dataset(res / f"sde/tiny/seed0/{matrix}/matrix_ou.nc") as sde:
            assert sde.lam.dims == ("replica", "t", "k")
            assert sde.attrs["scheme"] and float(sde.attrs["s"]) >= 0
        with xr.open_dataset(res / f"sde/tiny/seed0/{matrix}/eigen.nc") as sde:
            assert sde.sigma.dims == ("replica", "t", "k") and np.all(np.isfinite(sde.sigma.values))
            assert np.all(np.diff(sde.sigma.values, axis=-1) <= 0)
    comparison = pd.read_csv(res / "sde/tiny/seed0/comparison.csv")
    assert set(comparison.level) == {"matrix_ou", "eigen"}
    for extra in ("alpha_spikes", "repulsion", "evolution_mlp_in", "evolution_mlp_out"):
        assert (res / f"figures/{extra}_tiny_seed0.png").stat().st_size > 1000, extra
    assert (res / "figures/sde_stationary_check.png").exists()
    # issue 6: dynamics measured in the run file, forecasts scored, their figures and tables
    assert ds.sizes["dyn_step"] > 0 and np.any(np.isfinite(ds.grad_proj.values))
    assert ds.attrs["tracking_start_step"] == 20
    assert (res / "runs/tiny/seed0/model.pt").stat().st_size > 0
    scores = pd.read_csv(res / "forecasts/tiny/seed0_scores.csv")
    assert set(scores.forecaster) == {"sde", "tracker", "linear", "frozen"}
    assert scores.step.min() > 20 and np.all(np.isfinite(scores.loc[scores.forecaster != "sde", "w1"]))
    with xr.open_dataset(res / "forecasts/tiny/seed0.nc") as fc:
        assert fc.sde.dims == ("matrix", "replica", "step", "k")
    for extra in ("forecast_top", "forecast_skill", "dynamics_terms", "increment_regression"):
        assert (res / f"figures/{extra}_tiny_seed0.png").stat().st_size > 1000, extra
    for table in ("fits_tiny", "sde_vs_observed_tiny", "verdict_tiny", "sde_stationary_check", "forecast_skill",
                  "sde_calibration", "increment_regression"):
        assert (res / f"tables/{table}.csv").stat().st_size > 0
        assert "|" in (res / f"tables/{table}.md").read_text()
    assert not list(res.rglob("*.tmp*")), "temporary files left behind"
    assert elapsed < 240, f"tiny workflow took {elapsed:.0f} s"


def test_nothing_to_do_after_a_full_run(finished_run):
    workdir, _, _ = finished_run
    proc = run_snakemake(workdir, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_single_figure_rerun_does_not_retrain(finished_run):
    workdir, _, _ = finished_run
    run = workdir / "results/runs/tiny/seed0/spectra.nc"
    before = run.stat().st_mtime_ns
    target = workdir / "results/figures/esd_evolution_tiny_seed0.png"
    target.unlink()
    proc = run_snakemake(workdir, "results/figures/esd_evolution_tiny_seed0.png")
    out = proc.stdout + proc.stderr
    assert target.exists()
    assert "rule train_model" not in out and "rule plot_esd_evolution" in out
    assert run.stat().st_mtime_ns == before


def test_changing_an_sde_key_reruns_only_the_sde_branch(finished_run):
    workdir, _, _ = finished_run
    cfg = (workdir / "config.yaml").read_text().replace("n_replicas: 5", "n_replicas: 6")
    other = workdir / "changed.yaml"
    other.write_text(cfg)
    proc = run_snakemake(workdir, "-n", configfile=other)
    out = proc.stdout + proc.stderr
    assert "rule simulate_sde" in out
    assert "rule train_model" not in out and "rule fit_laws" not in out


def test_invalid_config_stops_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text("seeds: [0]\nmodels:\n  m:\n    train: {lr: -0.5}\n")
    proc = run_snakemake(tmp_path, check=False)
    assert proc.returncode != 0
    assert "models.m.train.lr" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_key_used_by_one_figure_reruns_only_that_figure(finished_run):  # CASES 24
    workdir, _, _ = finished_run
    changed = workdir / "topk.yaml"
    changed.write_text((workdir / "config.yaml").read_text() + "figures: {top_k: 5}\n")
    proc = run_snakemake(workdir, "-n", configfile=changed)
    out = proc.stdout + proc.stderr
    rules = {line.split()[-1].rstrip(":") for line in out.splitlines() if line.startswith(("rule ", "localrule "))}
    assert rules <= {"plot_sv_trajectories", "all"} and "plot_sv_trajectories" in rules
