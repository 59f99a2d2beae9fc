"""Figure comparing simulated (SDE) spectra with the observed ones."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sgdspectra.comparison import comparison_step, observed_lam, simulated_lam_at_step
from sgdspectra.plotting.esd import matrix_shape
from sgdspectra.plotting.fits import log_bins
from sgdspectra.plotting.style import (
    figure_style,
    matrix_title,
    new_figure,
    set_log_x,
    set_step_axis,
    subscript,
)

log = logging.getLogger(__name__)

#: Number of leading singular values whose trajectories are compared.
N_TOP = 4


def comparison_title(comparison: pd.DataFrame, matrix: str) -> str:
    """Second title line with the stored KS and Wasserstein-1 distances of ``matrix``."""
    rows = comparison[comparison["matrix"].astype(str) == matrix]
    if rows.empty:
        return "no comparison row"
    row = rows.iloc[0]
    return f"KS = {float(row['ks']):.3f}, W₁ = {float(row['wasserstein1']):.3g}"


def draw_lam_histograms(ax: Axes, obs: np.ndarray, sim: np.ndarray) -> None:
    """Observed vs pooled simulated λ as fractions per shared log-spaced bin.

    Fractions (not densities) keep bins of very different widths comparable on a log axis.
    """
    obs_pos, sim_pos = obs[obs > 0], sim[sim > 0]
    n_zeros = (obs.size - obs_pos.size) + (sim.size - sim_pos.size)
    if n_zeros:
        log.warning("dropped %d exact zeros from a log-scale histogram", n_zeros)
        ax.text(0.98, 0.97, f"{n_zeros} zero λ dropped", transform=ax.transAxes,
                ha="right", va="top", fontsize=7)
    both = np.concatenate([obs_pos, sim_pos])
    if both.size == 0:
        ax.text(0.5, 0.5, "no positive λ", transform=ax.transAxes, ha="center")
        return
    edges = log_bins(both, int(np.clip(2 * np.sqrt(max(obs_pos.size, 1)), 8, 50)))
    if sim_pos.size:
        ax.hist(sim_pos, bins=edges, weights=np.full(sim_pos.size, 1.0 / sim_pos.size), color="C1", alpha=0.45,
                label=f"SDE, pooled (n = {sim_pos.size})")
    if obs_pos.size:
        ax.hist(obs_pos, bins=edges, weights=np.full(obs_pos.size, 1.0 / obs_pos.size), histtype="step", color="C0", lw=1.5,
                label=f"observed (n = {obs_pos.size})")
    set_log_x(ax, edges)
    ax.set_xlabel("λ = σ²")
    ax.set_ylabel("fraction of values per bin")
    ax.legend(loc="best")


def simulated_sigma_bands(sde_ds: xr.Dataset, n_top: int) -> tuple[np.ndarray, ...]:
    """Median, 5 % and 95 % quantiles over replicas of the top ``n_top`` σ, shape (t, k)."""
    lam = sde_ds["lam"].isel(k=slice(0, n_top)).transpose("replica", "t", "k").values
    sigma = np.sqrt(np.clip(np.asarray(lam, dtype=np.float64), 0.0, None))
    q05, q50, q95 = np.nanquantile(sigma, [0.05, 0.5, 0.95], axis=0)
    return q50, q05, q95


def draw_top_trajectories(ax: Axes, ds: xr.Dataset, matrix: str, sde_ds: xr.Dataset) -> None:
    """Observed top σ (solid) vs the SDE median (dashed) and 5–95 % band against step."""
    n_rows, n_cols, _ = matrix_shape(ds, matrix)
    n_top = min(N_TOP, n_rows, n_cols, sde_ds.sizes["k"])
    obs_steps = np.asarray(ds["step"].values)
    obs = ds["sigma"].sel(matrix=matrix).transpose("step", "k").values[:, :n_top]
    sim_steps = np.asarray(sde_ds["step"].values)
    median, low, high = simulated_sigma_bands(sde_ds, n_top)
    for i in range(n_top):
        color = f"C{i}"
        ax.fill_between(sim_steps, low[:, i], high[:, i], color=color, alpha=0.18, lw=0)
        ax.plot(sim_steps, median[:, i], "--", color=color, lw=1.2)
        ax.plot(obs_steps, obs[:, i], "o-", ms=2.5, color=color, lw=1.2)
    set_step_axis(ax, np.concatenate([obs_steps, sim_steps]))
    ax.set_ylabel("singular value σ")


def trajectory_legend_handles() -> list[Artist]:
    """Figure-level legend: colour = index of σ, line style = observed or simulated."""
    handles: list[Artist] = [
        Line2D([], [], color=f"C{i}", lw=2, label=f"σ{subscript(i + 1)}") for i in range(N_TOP)
    ]
    handles += [
        Line2D([], [], color="k", marker="o", ms=2.5, label="observed"),
        Line2D([], [], color="k", ls="--", label="SDE median"),
        Patch(color="k", alpha=0.18, label="SDE 5–95 % band"),
    ]
    return handles


def plot_sde_vs_observed(
    ds: xr.Dataset, sde: Mapping[str, xr.Dataset], comparison: pd.DataFrame
) -> Figure:
    """Per matrix (rows): simulated vs observed spectra and top-σ trajectories.

    Left: the observed λ at the last SDE step recorded in the run and the simulated λ at
    the matching t, pooled over replicas (log-spaced bins), with the KS and Wasserstein-1
    distances stored in ``comparison`` (from
    :func:`sgdspectra.comparison.compare_sde_to_observed`) in the title. Right: the top-4
    observed σ against step with the simulated median and 5–95 % band over replicas.
    """
    names = [str(m) for m in ds["matrix"].values]
    matrices = [m for m in names if m in sde]
    if not matrices:
        raise ValueError("no matrix of the run has SDE output")
    with figure_style():
        fig, axes = new_figure(len(matrices), 2)
        fig.set_figwidth(2 * 4.2)
        fig.set_figheight(fig.get_figheight() + 0.4)
        for r, matrix in enumerate(matrices):
            n_rows, n_cols, _ = matrix_shape(ds, matrix)
            sde_ds = sde[matrix]
            step = comparison_step(ds, sde_ds)
            sim = simulated_lam_at_step(sde_ds, step).ravel()
            draw_lam_histograms(axes[r, 0], observed_lam(ds, matrix, step), sim[np.isfinite(sim)])
            axes[r, 0].set_title(
                f"{matrix_title(matrix, n_rows, n_cols)}, step {step}\n"
                f"{comparison_title(comparison, matrix)}"
            )
            draw_top_trajectories(axes[r, 1], ds, matrix, sde_ds)
            axes[r, 1].set_title(f"{matrix_title(matrix, n_rows, n_cols)}: top σ")
        fig.legend(handles=trajectory_legend_handles(), loc="outside lower center", ncols=7)
    return fig
