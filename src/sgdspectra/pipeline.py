"""Entry points of the workflow's rules: read stored products, call the library, write outputs.

Each function here is what one script calls; the scripts only set up logging and pass
``snakemake`` inputs, outputs, params and threads. Tests call these functions directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .fitting.verdict import ID_COLUMNS
from .io import read_csvs, read_dataset, read_run, write_csv, write_text

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

FIT_ID_COLUMNS = list(ID_COLUMNS)


# ----------------------------------------------------------------------------------- training
def train_model(model_name: str, model_spec: Mapping[str, Any], seed: int, output: str | Path, threads: int,
                weights_output: str | Path | None = None, gpus: int = 0) -> None:
    """Rule ``train_model``: train one model with one seed and write its run file (and final weights).

    ``gpus`` is the job's ``gpu`` resource: a job that was given a GPU (e.g. by the SLURM profile)
    must find one, so device ``auto`` becomes ``cuda`` there and fails fast without CUDA instead of
    silently training on the CPU (CASES 25); device ``cpu`` is respected.
    """
    import dataclasses

    from .config import ModelConfig
    from .runtime import configure_threads
    from .train import train_and_record

    configure_threads(threads)
    cfg = ModelConfig.from_dict(model_name, model_spec)
    if gpus > 0 and cfg.train.device == "auto":
        log.info("the job holds %d GPU(s): device auto means cuda", gpus)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, device="cuda"))
    train_and_record(cfg, int(seed), output, weights_output)


def download_data(dataset: str, data_dir: str | Path, marker: str | Path) -> None:
    """Rule ``download_data``: fetch and checksum a data set into ``data_dir`` (clear error offline),
    then write ``marker`` so that training jobs depend on a verified download."""
    if dataset == "mnist":
        from .mnist import load_mnist

        load_mnist(data_dir, download=True)
    elif dataset == "cifar10":
        from .cifar import load_cifar10

        load_cifar10(data_dir, download=True)
    elif dataset == "tiny_shakespeare":
        from .text import load_corpus

        load_corpus("tiny_shakespeare", data_dir=data_dir)
    else:
        raise ValueError(f"{dataset!r} is not a downloadable data set (mnist, cifar10, tiny_shakespeare)")
    write_text(f"{dataset}: all files present with their pinned SHA-256\n", marker)


# ----------------------------------------------------------------------------------- fits
def fit_laws(run_path: str | Path, output: str | Path, min_tail: int = 10, min_values: int = 10) -> pd.DataFrame:
    """Rule ``fit_laws``: fit every law to every matrix at every snapshot; one tidy CSV."""
    from .analysis import run_ids
    from .fitting import fit_spectrum

    ds = read_run(run_path)
    rows: list[dict[str, Any]] = []
    for j, matrix in enumerate(ds.matrix.values):
        n_rows, n_cols = int(ds.n_rows[j]), int(ds.n_cols[j])
        for i, step in enumerate(ds.step.values):
            ids = run_ids(ds, j, int(step))
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
from .sde_runs import compare_sde, sde_by_level, sde_time, simulate_sde  # noqa: E402  (re-exported rule entry points)
from .stationary_check import simulate_check  # noqa: E402, F401  (re-exported rule entry point)


def fit_law_comparison(run_path: str | Path, output: str | Path, late_snapshots: int = 1,
                       n_boot: int = 100) -> pd.DataFrame:
    """Rule ``fit_law_comparison``: every candidate law at the run's late snapshots."""
    from .analysis import compare_laws_run

    df = compare_laws_run(run_path, late_snapshots, n_boot)
    write_csv(df, output)
    return df


def measure_repulsion(run_path: str | Path, output: str | Path, n_boot: int = 200) -> pd.DataFrame:
    """Rule ``measure_repulsion``: spacing ratio ⟨r⟩ per snapshot and matrix."""
    from .analysis import repulsion_run

    df = repulsion_run(run_path, n_boot=n_boot)
    write_csv(df, output)
    return df


# ----------------------------------------------------------------------------------- tables
def make_table_verdict(law_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_verdict``: which law describes each matrix at the late snapshots."""
    from .analysis import verdict_from_files
    from .tables import to_markdown

    table, summary = verdict_from_files(law_paths)
    write_text(summary + "\n" + to_markdown(table, "Per matrix (aggregated over seeds)"), md)
    write_csv(table, csv)
    return table


def make_table_fits(fit_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_fits``: per-matrix fit summary at the final step, over seeds."""
    from .tables import summarize_fits, write_table

    table = summarize_fits(read_csvs(fit_paths), drop_empty=True)
    write_table(table, csv, md, title="Law fits at the final snapshot: mean, std and 95 % t-interval over seeds "
                "(the primary uncertainty: eigenvalues of one matrix are not independent)")
    return table


def make_table_sde(comparison_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_sde``: simulated vs observed spectra, every seed and matrix."""
    from .tables import write_table

    table = read_csvs(comparison_paths)
    write_table(table, csv, md, title="Matrix-level SDE vs observed spectrum at the last simulated snapshot")
    return table


def make_table_sde_check(check_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_sde_check``: KS of each simulated stationary sample against each law."""
    from .stationary_check import load_check, stationary_check_table
    from .tables import write_table

    table = stationary_check_table(load_check(check_paths))
    write_table(table, csv, md, title="Stationary laws of the SDE, simulated at both levels from W(0) = 0")
    return table


def plot_stationary_check(check_paths: Sequence[str | Path], table_csv: str | Path, png: str | Path,
                          pdf: str | Path) -> None:
    """Rule ``plot_sde_stationary_check``: both levels against the exact laws and Eq. 13."""
    from . import plotting
    from .stationary_check import load_check

    fig = plotting.plot_stationary_check(load_check(check_paths), pd.read_csv(table_csv))
    plotting.save_figure(fig, png, pdf)


def make_table_sweep(run_paths: Sequence[str | Path], fit_paths: Sequence[str | Path], csv: str | Path,
                     slopes_csv: str | Path, slopes_md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_sweep``: per run and matrix η, B, D, ηD, fitted scale and α; log-log slopes."""
    from .sweep import sweep_slopes, sweep_table
    from .tables import write_table

    table = sweep_table(run_paths, fit_paths)
    write_csv(table, csv)
    write_table(sweep_slopes(table), slopes_csv, slopes_md, title="Log-log slopes over the sweep (theory: 1 for the variance vs ηD)")
    return table


def plot_temperature_sweep(table_csv: str | Path, slopes_csv: str | Path, png: str | Path, pdf: str | Path) -> None:
    """Rule ``plot_temperature_sweep``."""
    from . import plotting

    fig = plotting.plot_temperature_sweep(pd.read_csv(table_csv), pd.read_csv(slopes_csv))
    plotting.save_figure(fig, png, pdf)


# ----------------------------------------------------------------------------------- figures
#: Figures of ``plot_figure`` drawn from stored tables alone (the run file is not read).
_TABLE_FIGURES = ("alpha_spikes", "repulsion")


def plot_figure(
    figure: str, run_path: str | Path, png: str | Path, pdf: str | Path, *,
    fits_path: str | Path | None = None, sde_paths: Sequence[str | Path] = (),
    comparison_path: str | Path | None = None, **options: Any,
) -> None:
    """Rules ``plot_*``: draw one figure from stored products and save it as PNG and PDF."""
    from . import plotting

    ds = None if figure in _TABLE_FIGURES else read_run(run_path)
    if figure == "esd_evolution":
        fig = plotting.plot_esd_evolution(ds, **options)
    elif figure == "sv_trajectories":
        fig = plotting.plot_sv_trajectories(ds, **options)
    elif figure == "stationary_fits":
        fig = plotting.plot_stationary_fits(ds, pd.read_csv(fits_path))
    elif figure == "sde_vs_observed":
        comparison = pd.read_csv(comparison_path)
        if "level" in comparison:
            comparison = comparison[comparison.level == "matrix_ou"]
        fig = plotting.plot_sde_vs_observed(ds, sde_by_level(sde_paths)["matrix_ou"], comparison)
    elif figure == "sde_levels":
        from .comparison import compare_levels

        by_level = sde_by_level(sde_paths)
        fig = plotting.plot_sde_levels(ds, by_level, compare_levels(by_level))
    elif figure == "training_curves":
        fig = plotting.plot_training_curves(ds)
    elif figure == "alpha_spikes":
        fig = plotting.plot_alpha_spikes(pd.read_csv(fits_path))
    elif figure == "repulsion":
        fig = plotting.plot_repulsion(pd.read_csv(options["repulsion_path"]))
    elif figure == "evolution":
        fig = plotting.plot_kind_evolution(ds, **options)
    else:
        raise ValueError(f"unknown figure {figure!r}")
    plotting.save_figure(fig, png, pdf)


# ------------------------------------------------------------------------ dynamics and forecasts
def analyse_dynamics(run_path: str | Path, model: str, seed: int, calibration_csv: str | Path,
                     regression_csv: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rule ``analyse_dynamics``: per-window calibration and the term-by-term increment regression."""
    from .dynamics_fit import calibrate_windows, has_dynamics, increment_regression

    ds = read_run(run_path)
    if not has_dynamics(ds):
        raise ValueError(f"{run_path} holds no dynamics measurements: set models.{model}.dynamics.windows > 0")
    cal = calibrate_windows(ds, model, seed)
    reg = increment_regression(ds, model, seed)
    write_csv(cal, calibration_csv)
    write_csv(reg, regression_csv)
    return cal, reg


def forecast_spectra(run_path: str | Path, model: str, seed: int, settings: Mapping[str, Any],
                     output: str | Path, scores_csv: str | Path, calibration_csv: str | Path) -> pd.DataFrame:
    """Rule ``forecast_spectra``: every forecaster from t0 to each later snapshot, with scores."""
    from .forecast import ForecastSettings, forecast_run
    from .io import write_dataset
    from .provenance import provenance_attrs

    ds = read_run(run_path)
    fc, scores, cal = forecast_run(ds, ForecastSettings(**settings), model, seed)
    fc.attrs.update(provenance_attrs(config=dict(settings), seed=seed, source_run=str(run_path),
                                     title=f"sgdspectra forecasts {model} seed {seed}"))
    write_dataset(fc, output)
    write_csv(scores, scores_csv)
    write_csv(cal, calibration_csv)
    return scores


def make_dynamics_tables(calibration_paths: Sequence[str | Path], regression_paths: Sequence[str | Path],
                         outputs: Mapping[str, str | Path]) -> None:
    """Rule ``make_table_dynamics``: calibration per window and the term-by-term regression, all runs."""
    from .tables import write_table

    cal = read_csvs(calibration_paths)
    reg = read_csvs(regression_paths)
    write_table(cal, outputs["calibration_csv"], outputs["calibration_md"],
                title="SDE calibration per matrix and measurement window (s from the gradient noise and from the "
                      "increments, confinement kappa, multiplicative noise s_i ~ s0 + s1 lambda_i)")
    write_table(reg, outputs["regression_csv"], outputs["regression_md"],
                title="Term-by-term regression of the singular-value increments on the sigma-SDE's drift terms "
                      "(theory: every coefficient 1, diffusion ratio 1)")


def make_table_forecast_skill(score_paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Rule ``make_table_forecast_skill``: skill per model, matrix and forecaster."""
    from .forecast import skill_table
    from .tables import write_table

    table = skill_table(read_csvs(score_paths))
    write_table(table, csv, md, title="Forecast skill (1 - error / error of the frozen spectrum; > 0 beats it), "
                                      "mean over seeds, at the last snapshot and averaged over horizons")
    return table


def plot_forecast(figure: str, png: str | Path, pdf: str | Path, *, forecast_path: str | Path | None = None,
                  scores_path: str | Path | None = None, run_path: str | Path | None = None,
                  regression_path: str | Path | None = None, top_k: int = 8) -> None:
    """Rules ``plot_forecast_*`` and ``plot_dynamics_*``: one figure from stored products."""
    from . import plotting

    if figure == "forecast_top":
        fig = plotting.plot_forecast_top(read_dataset(forecast_path), top_k=top_k)
    elif figure == "forecast_skill":
        fig = plotting.plot_forecast_skill(pd.read_csv(scores_path))
    elif figure == "dynamics_terms":
        fig = plotting.plot_dynamics_terms(read_run(run_path))
    elif figure == "increment_regression":
        fig = plotting.plot_increment_regression(pd.read_csv(regression_path))
    else:
        raise ValueError(f"unknown figure {figure!r}")
    plotting.save_figure(fig, png, pdf)
