"""Entry points of the workflow's rules: read stored products, call the library, write outputs.

Each function here is what one script calls; the scripts only set up logging and pass
``snakemake`` inputs, outputs, params and threads. Tests call these functions directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .io import atomic_path, read_dataset, require_complete, write_dataset

log = logging.getLogger(__name__)

__all__ = [
    "read_run",
    "train_model",
    "fit_laws",
    "simulate_sde",
    "compare_sde",
    "make_table_fits",
    "make_table_sde",
    "plot_figure",
    "sde_time",
]

FIT_ID_COLUMNS = ["model", "seed", "matrix", "kind", "n_rows", "n_cols", "step"]


def read_run(path: str | Path) -> xr.Dataset:
    """Load a run file and refuse it if it is incomplete (e.g. training diverged)."""
    return require_complete(read_dataset(path), path)


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV atomically."""
    with atomic_path(path, suffix=".tmp.csv") as tmp:
        df.to_csv(tmp, index=False)


# ----------------------------------------------------------------------------------- training
def train_model(model_name: str, model_spec: Mapping[str, Any], seed: int, output: str | Path, threads: int) -> None:
    """Rule ``train_model``: train one model with one seed and write its run file."""
    from .config import ModelConfig
    from .runtime import configure_threads
    from .train import train_and_record

    configure_threads(threads)
    train_and_record(ModelConfig.from_dict(model_name, model_spec), int(seed), output)


# ----------------------------------------------------------------------------------- fits
def fit_laws(run_path: str | Path, output: str | Path, min_tail: int = 10, min_values: int = 10) -> pd.DataFrame:
    """Rule ``fit_laws``: fit every law to every matrix at every snapshot; one tidy CSV."""
    from .fitting import fit_spectrum

    ds = read_run(run_path)
    rows: list[dict[str, Any]] = []
    for j, matrix in enumerate(ds.matrix.values):
        n_rows, n_cols = int(ds.n_rows[j]), int(ds.n_cols[j])
        for i, step in enumerate(ds.step.values):
            ids = dict(model=ds.attrs.get("model", ""), seed=int(ds.attrs.get("seed", -1)), matrix=str(matrix),
                       kind=str(ds.kind.values[j]), n_rows=n_rows, n_cols=n_cols, step=int(step))
            for row in fit_spectrum(ds.sigma.values[i, j], n_rows, n_cols, min_tail=min_tail, min_values=min_values):
                if row["status"] != "ok":
                    row["message"] = f"matrix {matrix!r} at step {int(step)}: {row['message']}"
                rows.append({**ids, **row})
    df = pd.DataFrame(rows)
    counts = df.groupby(["law", "status"]).size()
    log.info("fit status counts:\n%s", counts.to_string())
    write_csv(df, output)
    return df


# ----------------------------------------------------------------------------------- SDE
def sde_time(ds: xr.Dataset) -> np.ndarray:
    """SDE time t = sum of learning rates up to each snapshot step (t = lr x step for constant lr)."""
    steps = ds.step.values.astype(np.float64)
    lr = ds.lr.values.astype(np.float64)
    # Piecewise-constant lr between snapshots, taken at the left end of each interval.
    return np.concatenate([[0.0], np.cumsum(np.diff(steps) * lr[:-1])]) + steps[0] * lr[0]


def _sample_indices(n: int, n_times: int) -> np.ndarray:
    return np.unique(np.round(np.linspace(0, n - 1, min(n_times, n))).astype(int))


def simulate_sde(
    run_path: str | Path, matrix: str, output: str | Path, *, s: float | str = "auto", gamma: float = 0.0,
    n_replicas: int = 20, n_times: int = 8, seed: int = 0,
) -> xr.Dataset:
    """Rule ``simulate_sde``: exact matrix OU ensemble from the matrix's first recorded spectrum.

    The OU law is rotation-invariant, so the singular values of W(t) depend on W(0) only through
    its singular values: the simulation starts from ``diag(sigma(step_0))`` in the analysis
    orientation (M x N). With ``s="auto"`` the noise level is the one whose mean squared Frobenius
    norm at the last snapshot equals the observed one (one number per matrix; the *shape* of the
    simulated spectrum is then a prediction, not a fit).
    """
    from .provenance import provenance_attrs
    from .sde import calibrate_s_frobenius, simulate_matrix_ou, w0_from_singular_values

    ds = read_run(run_path)
    if matrix not in ds.matrix.values:
        raise KeyError(f"{run_path}: no matrix {matrix!r} (have {', '.join(map(str, ds.matrix.values))})")
    sel = ds.sel(matrix=matrix)
    big, small = max(int(sel.n_rows), int(sel.n_cols)), min(int(sel.n_rows), int(sel.n_cols))
    idx = _sample_indices(ds.sizes["step"], n_times)
    steps = ds.step.values[idx]
    t_all = sde_time(ds)
    times = t_all[idx] - t_all[idx[0]]
    sigma = sel.sigma.values[:, :small]
    sigma0, sigma_end = sigma[idx[0]], sigma[idx[-1]]
    calibration = "given"
    if s == "auto":
        s_value = float(calibrate_s_frobenius(np.sum(sigma0**2), np.sum(sigma_end**2), big, small, gamma, times[-1]))
        calibration = "frobenius_match"
        if not np.isfinite(s_value) or s_value <= 0.0:
            s_value, calibration = 0.0, "frobenius_match_failed: observed energy below the noiseless decay; s = 0"
            log.warning("%s: %s", matrix, calibration)
    else:
        s_value = float(s)
    log.info("simulating %s (%d x %d) with s = %.4g, gamma = %.4g, %d replicas, %d times",
             matrix, big, small, s_value, gamma, n_replicas, times.size)
    out = simulate_matrix_ou(big, small, s_value, gamma, times, n_replicas, seed,
                             w0=w0_from_singular_values(sigma0, big, small))
    out = out.assign_coords(step=("t", steps.astype(np.int64), {"long_name": "SGD step matched to t"}))
    out.attrs.update(provenance_attrs(
        config={"s": s, "gamma": gamma, "n_replicas": n_replicas, "n_times": n_times, "seed": seed},
        seed=seed, device="cpu", title=f"matrix-level OU SDE for {matrix}", model=ds.attrs.get("model", ""),
        matrix=matrix, run_seed=ds.attrs.get("seed", ""), s_calibration=calibration,
    ))
    out.attrs["s"] = s_value
    write_dataset(out, output)
    return out


def _sde_by_matrix(sde_paths: Sequence[str | Path]) -> dict[str, xr.Dataset]:
    out = {}
    for p in sde_paths:
        sde = read_dataset(p)
        out[str(sde.attrs["matrix"])] = sde
    return out


def compare_sde(run_path: str | Path, sde_paths: Sequence[str | Path], output: str | Path) -> pd.DataFrame:
    """Rule ``compare_sde``: KS and Wasserstein-1 of simulated vs observed spectra, per matrix."""
    from .comparison import compare_sde_to_observed

    ds = read_run(run_path)
    df = compare_sde_to_observed(ds, _sde_by_matrix(sde_paths))
    df.insert(0, "seed", int(ds.attrs.get("seed", -1)))
    df.insert(0, "model", ds.attrs.get("model", ""))
    write_csv(df, output)
    return df


# ----------------------------------------------------------------------------------- tables
def make_table_fits(fit_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_fits``: per-matrix fit summary at the final step, over seeds."""
    from .tables import summarize_fits, write_table

    fits = pd.concat([pd.read_csv(p) for p in fit_paths], ignore_index=True)
    table = summarize_fits(fits)
    write_table(table, csv, md, title="Law fits at the final snapshot (mean and std over seeds)")
    return table


def make_table_sde(comparison_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_sde``: simulated vs observed spectra, every seed and matrix."""
    from .tables import write_table

    table = pd.concat([pd.read_csv(p) for p in comparison_paths], ignore_index=True)
    write_table(table, csv, md, title="Matrix-level SDE vs observed spectrum at the last simulated snapshot")
    return table


# ----------------------------------------------------------------------------------- figures
def plot_figure(
    figure: str, run_path: str | Path, png: str | Path, pdf: str | Path, *,
    fits_path: str | Path | None = None, sde_paths: Sequence[str | Path] = (),
    comparison_path: str | Path | None = None, **options: Any,
) -> None:
    """Rules ``plot_*``: draw one figure from stored products and save it as PNG and PDF."""
    from . import plotting

    ds = read_run(run_path)
    if figure == "esd_evolution":
        fig = plotting.plot_esd_evolution(ds, **options)
    elif figure == "sv_trajectories":
        fig = plotting.plot_sv_trajectories(ds, **options)
    elif figure == "stationary_fits":
        fig = plotting.plot_stationary_fits(ds, pd.read_csv(fits_path))
    elif figure == "sde_vs_observed":
        fig = plotting.plot_sde_vs_observed(ds, _sde_by_matrix(sde_paths), pd.read_csv(comparison_path))
    elif figure == "training_curves":
        fig = plotting.plot_training_curves(ds)
    else:
        raise ValueError(f"unknown figure {figure!r}")
    plotting.save_figure(fig, png, pdf)
