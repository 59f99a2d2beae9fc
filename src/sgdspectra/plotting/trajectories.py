"""Figures of singular-value trajectories against the SGD step."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sgdspectra.plotting.esd import matrix_shape
from sgdspectra.plotting.style import (
    figure_style,
    matrix_title,
    panel_grid,
    set_step_axis,
    subscript,
)

log = logging.getLogger(__name__)


def bulk_median(sigma: np.ndarray) -> np.ndarray:
    """Median over ``k`` of the finite σ at each step (rows); NaN for a step with none."""
    finite = np.isfinite(sigma)
    out = np.full(sigma.shape[0], np.nan)
    for i in np.flatnonzero(finite.any(axis=1)):
        out[i] = float(np.median(sigma[i, finite[i]]))
    return out


def plot_sv_trajectories(ds: xr.Dataset, top: int = 8) -> Figure:
    """The ``top`` largest σ of each matrix against step, with the median σ of the bulk.

    One panel per matrix; the x axis is symmetric-log so that step 0 is shown. The bulk
    median is the median over ``k`` of all finite σ at each step.
    """
    matrices = [str(m) for m in ds["matrix"].values]
    steps = np.asarray(ds["step"].values)
    with figure_style():
        fig, axes = panel_grid(len(matrices))
        for ax, matrix in zip(axes, matrices, strict=True):
            n_rows, n_cols, _ = matrix_shape(ds, matrix)
            sigma = np.asarray(ds["sigma"].sel(matrix=matrix).transpose("step", "k").values)
            n_values = min(n_rows, n_cols)
            n_top = min(top, n_values)
            colors = colormaps["viridis"](np.linspace(0.0, 0.85, max(n_top, 1)))
            for i in range(n_top):
                ax.plot(steps, sigma[:, i], color=colors[i], lw=1.1)
            ax.plot(steps, bulk_median(sigma), "--", color="C1", lw=1.4)
            set_step_axis(ax, steps)
            ax.set_ylabel("singular value σ")
            ax.set_title(f"{matrix_title(matrix, n_rows, n_cols)}, top {n_top}")
        fig.legend(handles=legend_handles(top), loc="outside lower center", ncols=3)
    return fig


def legend_handles(top: int) -> list[Line2D]:
    """Figure-level legend: σ₁ darkest, smaller σ lighter, and the bulk median."""
    dark, light = colormaps["viridis"]([0.0, 0.85])
    return [
        Line2D([], [], color=dark, label="σ₁ (largest)"),
        Line2D([], [], color=light, label=f"σ₂ … σ{subscript(top)} (lighter = smaller)"),
        Line2D([], [], color="C1", ls="--", label="bulk median σ (all k)"),
    ]
