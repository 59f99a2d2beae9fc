"""Run-level law comparison, verdict and repulsion on synthetic runs with known structure."""

import numpy as np
import pandas as pd
import xarray as xr

from sgdspectra import pipeline
from sgdspectra.io import write_dataset


def wishart_run(path, m=200, n=100, steps=(0, 10), seed=0):
    """A run whose every snapshot is the spectrum of an i.i.d. Gaussian m x n matrix."""
    rng = np.random.default_rng(seed)
    sig = np.stack([np.linalg.svd(rng.standard_normal((m, n)) / np.sqrt(n), compute_uv=False) for _ in steps])
    ds = xr.Dataset({"sigma": (("step", "matrix", "k"), sig[:, None, :]), "lr": ("step", [0.1] * len(steps))},
                    coords={"step": list(steps), "matrix": ["w"], "k": np.arange(n), "n_rows": ("matrix", [m]),
                            "n_cols": ("matrix", [n]), "kind": ("matrix", ["mlp_hidden"])},
                    attrs={"status": "complete", "model": "syn", "seed": seed})
    write_dataset(ds, path)


def test_repulsion_of_wishart_spectra_is_goe_like(tmp_path):
    wishart_run(tmp_path / "run.nc")
    rep = pipeline.measure_repulsion(tmp_path / "run.nc", tmp_path / "rep.csv", n_boot=50)
    assert set(rep.status) == {"ok"}
    # 100 values give ~64 bulk ratios: the GOE value 0.531 within sampling noise (sd of r ~0.26/sqrt(64)).
    assert np.all(np.abs(rep.mean_r - 0.5307) < 4 * 0.26 / np.sqrt(rep.n_ratios))
    assert np.all(rep.low <= rep.mean_r) and np.all(rep.mean_r <= rep.high)
    assert pd.read_csv(tmp_path / "rep.csv").shape[0] == 2


def test_law_comparison_and_verdict_on_an_iid_matrix(tmp_path):
    paths = []
    for seed in (0, 1):
        wishart_run(tmp_path / f"run{seed}.nc", seed=seed)
        out = tmp_path / f"laws{seed}.csv"
        df = pipeline.fit_law_comparison(tmp_path / f"run{seed}.nc", out, late_snapshots=1)
        assert set(df.step) == {10} and {"eq13", "gamma_exact", "marchenko_pastur", "power_law"} <= set(df.law)
        paths.append(out)
    table = pipeline.make_table_verdict(paths, tmp_path / "v.csv", tmp_path / "v.md")
    assert len(table) == 1 and int(table.loc[0, "n_seeds"]) == 2
    # For an i.i.d. matrix the Marchenko-Pastur law describes the spectrum best by KS.
    assert table.loc[0, "best_ks"] == "marchenko_pastur"
    assert "## Verdict" in (tmp_path / "v.md").read_text()


def test_law_comparison_bootstrap_interval_covers_the_fit(tmp_path):
    wishart_run(tmp_path / "run.nc", m=300, n=150)
    df = pipeline.fit_law_comparison(tmp_path / "run.nc", tmp_path / "laws.csv", n_boot=30)
    exact = df[df.law == "gamma_exact"].iloc[0]
    assert exact.boot_param == "rate" and exact.boot_low <= exact.rate <= exact.boot_high
