"""Figures of the empirical spectral density (ESD) of each weight matrix."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sgdspectra.laws import mp_edges, mp_sigma_pdf
from sgdspectra.plotting.style import figure_style, matrix_title, new_figure
from sgdspectra.schedule import evenly_spaced_indices

log = logging.getLogger(__name__)


def snapshot_indices(n_steps: int, n_snapshots: int) -> list[int]:
    """Evenly spaced positions along ``step`` (first and last included), without repeats."""
    if n_steps < 1:
        raise ValueError("the run has no step")
    return evenly_spaced_indices(n_steps, n_snapshots)


def matrix_shape(ds: xr.Dataset, matrix: str) -> tuple[int, int, float]:
    """PyTorch shape ``(n_rows, n_cols)`` of ``matrix`` and its ratio ``q = N / M``."""
    n_rows = int(ds["n_rows"].sel(matrix=matrix))
    n_cols = int(ds["n_cols"].sel(matrix=matrix))
    return n_rows, n_cols, min(n_rows, n_cols) / max(n_rows, n_cols)


def finite_values(da: xr.DataArray) -> np.ndarray:
    """The finite entries of a 1-D DataArray (drops the NaN padding)."""
    values = np.asarray(da.values, dtype=np.float64)
    return values[np.isfinite(values)]


def plot_esd_evolution(ds: xr.Dataset, n_snapshots: int = 3) -> Figure:
    """Histograms of ``sigma_normalized`` per matrix (rows) at evenly spaced steps (columns).

    The first, middle and last recorded steps are shown by default. Each panel overlays the
    Marchenko–Pastur density of σ for variance 1 and ``q = N / M`` (dashed), the law of the
    normalised singular values of an i.i.d. matrix.
    """
    matrices = [str(m) for m in ds["matrix"].values]
    columns = snapshot_indices(ds.sizes["step"], n_snapshots)
    with figure_style():
        fig, axes = new_figure(len(matrices), len(columns))
        for r, matrix in enumerate(matrices):
            n_rows, n_cols, q = matrix_shape(ds, matrix)
            hi = float(np.sqrt(mp_edges(1.0, q)[1]))
            for c, index in enumerate(columns):
                ax = axes[r, c]
                step = int(ds["step"].values[index])
                values = finite_values(ds["sigma_normalized"].sel(matrix=matrix).isel(step=index))
                if values.size:
                    bins = int(np.clip(2 * np.sqrt(values.size), 5, 60))
                    ax.hist(values, bins=bins, density=True, color="C0", alpha=0.55,
                            label=f"observed (N = {values.size})")
                else:
                    ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center")
                top = max(hi, float(values.max()) if values.size else hi) * 1.05
                grid = np.linspace(1e-9, top, 600)
                ax.plot(grid, mp_sigma_pdf(grid, 1.0, q), "--", color="C1", label="MP (variance 1)")
                ax.set_xlim(0.0, top)
                ax.set_title(f"{matrix_title(matrix, n_rows, n_cols)}\nstep {step}, q = {q:.3g}")
                if r == len(matrices) - 1:
                    ax.set_xlabel("normalised σ")
                if c == 0:
                    ax.set_ylabel("density")
                if r == 0 and c == 0:
                    ax.legend(loc="upper right")
    return fig
