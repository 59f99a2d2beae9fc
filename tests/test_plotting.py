"""Tests of the figure functions: structure, legends, atomic saving, no global side effects."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from sgdspectra.comparison import compare_sde_to_observed
from sgdspectra.plotting import (
    plot_esd_evolution,
    plot_sde_vs_observed,
    plot_stationary_fits,
    plot_sv_trajectories,
    plot_training_curves,
    save_figure,
)


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def all_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_esd_evolution_grid(run_dataset: xr.Dataset) -> None:
    fig = plot_esd_evolution(run_dataset)
    assert isinstance(fig, Figure) and len(fig.axes) == 3 * 3
    titles = [ax.get_title() for ax in fig.axes]
    assert "layers.0 (32×16)" in titles[0] and "step 0" in titles[0] and "q = 0.5" in titles[0]
    assert "step 20" in titles[1] and "step 40" in titles[2]
    assert len(plot_esd_evolution(run_dataset, n_snapshots=2).axes) == 3 * 2


def test_sv_trajectories(run_dataset: xr.Dataset) -> None:
    fig = plot_sv_trajectories(run_dataset, top=8)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    ax = fig.axes[2]  # head: only 4 singular values
    assert "head (4×32)" in ax.get_title() and "top 4" in ax.get_title()
    assert len(ax.get_lines()) == 4 + 1
    assert ax.get_xscale() == "symlog" and "step" in ax.get_xlabel()
    assert "σ" in ax.get_ylabel()


def test_stationary_fits_legends(run_dataset: xr.Dataset, fit_table: pd.DataFrame) -> None:
    fig = plot_stationary_fits(run_dataset, fit_table)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    first = [t.get_text() for t in fig.axes[0].get_legend().texts]
    assert sum("KS = 0.100" in t for t in first) == 4
    head = [t.get_text() for t in fig.axes[2].get_legend().texts]
    assert sum("not drawn (too_few_values)" in t for t in head) == 4
    assert fig.axes[0].get_xscale() == "log"


def test_stationary_fits_counts_dropped_zeros(
    run_dataset: xr.Dataset, fit_table: pd.DataFrame
) -> None:
    ds = run_dataset.copy(deep=True)
    ds["sigma"].loc[{"matrix": "layers.1", "step": 40, "k": [30, 31]}] = 0.0
    fig = plot_stationary_fits(ds, fit_table)
    assert "2 zero λ dropped" in all_texts(fig)


def test_stationary_fits_missing_step(run_dataset: xr.Dataset, fit_table: pd.DataFrame) -> None:
    fig = plot_stationary_fits(run_dataset, fit_table[fit_table["step"] < 40])
    assert any("not fitted at this step" in t for t in legend_texts(fig))


def test_sde_vs_observed(run_dataset: xr.Dataset, sde_datasets: dict[str, xr.Dataset]) -> None:
    comparison = compare_sde_to_observed(run_dataset, sde_datasets)
    fig = plot_sde_vs_observed(run_dataset, sde_datasets, comparison)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * len(sde_datasets)
    ks = comparison.set_index("matrix").loc["layers.0", "ks"]
    assert f"KS = {ks:.3f}" in fig.axes[0].get_title()
    assert fig.axes[1].get_xscale() == "symlog"


def test_training_curves(run_dataset: xr.Dataset) -> None:
    fig = plot_training_curves(run_dataset)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = legend_texts(fig)
    assert {"train", "validation", "minibatch loss"} <= set(labels)


def test_plotting_leaves_rcparams_alone(run_dataset: xr.Dataset) -> None:
    before = dict(matplotlib.rcParams)
    plot_training_curves(run_dataset)
    after = dict(matplotlib.rcParams)
    assert before.keys() == after.keys()
    assert all(str(before[k]) == str(after[k]) for k in before)


def test_save_figure_is_atomic_and_complete(run_dataset: xr.Dataset, tmp_path: Path) -> None:
    fig = plot_sv_trajectories(run_dataset)
    png, pdf = tmp_path / "out" / "fig.png", tmp_path / "out" / "fig.pdf"
    save_figure(fig, png, pdf)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in png.parent.iterdir()) == ["fig.pdf", "fig.png"]


def test_save_figure_failure_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    real_savefig = fig.savefig

    def half_written_pdf(fname: Path, *, format: str, **kwargs: object) -> None:
        if format == "pdf":
            Path(fname).write_bytes(b"%PDF-partial")
            raise RuntimeError("killed while writing")
        real_savefig(fname, format=format, **kwargs)

    monkeypatch.setattr(fig, "savefig", half_written_pdf)
    with pytest.raises(RuntimeError, match="killed"):
        save_figure(fig, tmp_path / "fig.png", tmp_path / "fig.pdf")
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
