"""Figures grouped by matrix kind: the 20-snapshot evolution grid, and α / spikes against step."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sgdspectra.laws import mp_edges, mp_sigma_pdf
from sgdspectra.plotting.esd import finite_values, matrix_shape, snapshot_indices
from sgdspectra.plotting.style import TAB10, figure_style, matrix_title, new_figure, set_step_axis

__all__ = ["plot_kind_evolution", "plot_alpha_spikes", "tw_edge_normalized", "representative_matrix"]


def tw_edge_normalized(n_rows: int, n_cols: int, level: float = 0.05) -> float:
    """Tracy–Widom edge of the *normalised* singular values (entries of variance 1/M).

    With Johnstone's centring μ and scaling σ for unit-variance entries, the largest eigenvalue of
    WᵀW exceeds μ + σ·s_level with probability ``level``; dividing by M gives λ of the normalised
    matrix, and the edge in σ is its square root. It sits just outside the MP edge 1 + √q.
    """
    from sgdspectra.fitting.tracy_widom import johnstone_centering, tw1_quantile

    big = max(n_rows, n_cols)
    mu, sigma = johnstone_centering(n_rows, n_cols)
    return math.sqrt((mu + sigma * tw1_quantile(level)) / big)


def representative_matrix(ds: xr.Dataset, kind: str) -> str:
    """The first matrix of ``kind`` in the run (e.g. blocks.0.attn.q for attn_q)."""
    names = [str(m) for m, k in zip(ds.matrix.values, ds.kind.values) if str(k) == kind]
    if not names:
        raise KeyError(f"the run has no matrix of kind {kind!r} (kinds: {sorted(set(map(str, ds.kind.values)))})")
    return names[0]


def plot_kind_evolution(ds: xr.Dataset, kind: str, n_snapshots: int = 20, tw_level: float = 0.05) -> Figure:
    """Normalised-σ histograms of one matrix of ``kind`` at up to ``n_snapshots`` steps.

    Each panel shows the Marchenko–Pastur density of σ for variance 1 and q = N/M (dashed) and the
    Tracy–Widom edge at level ``tw_level`` for the matrix's own (M, N) (dotted vertical line); the
    title counts the values beyond that edge.
    """
    matrix = representative_matrix(ds, kind)
    n_rows, n_cols, q = matrix_shape(ds, matrix)
    indices = snapshot_indices(ds.sizes["step"], n_snapshots)
    n_cols_grid = min(5, len(indices))
    n_rows_grid = -(-len(indices) // n_cols_grid)
    edge = tw_edge_normalized(n_rows, n_cols, tw_level) if min(n_rows, n_cols) >= 1 and max(n_rows, n_cols) >= 2 else float("nan")
    lo, hi = (math.sqrt(v) for v in mp_edges(1.0, q))
    with figure_style():
        fig, axes = new_figure(n_rows_grid, n_cols_grid)
        fig.suptitle(f"{kind}: {matrix_title(matrix, n_rows, n_cols)}, q = {q:.3g}; MP (dashed), "
                     f"Tracy–Widom edge at {tw_level:g} (dotted)")
        flat = axes.ravel()
        for ax in flat[len(indices):]:
            fig.delaxes(ax)
        for ax, index in zip(flat, indices):
            values = finite_values(ds["sigma_normalized"].sel(matrix=matrix).isel(step=index))
            step = int(ds.step.values[index])
            if values.size:
                ax.hist(values, bins=int(np.clip(2 * np.sqrt(values.size), 5, 50)), density=True, color="C0", alpha=0.55)
            grid = np.linspace(lo, hi, 300)
            ax.plot(grid, mp_sigma_pdf(grid, 1.0, q), "--", color="C1", lw=1.0)
            beyond = int(np.sum(values > edge)) if np.isfinite(edge) else 0
            if np.isfinite(edge):
                ax.axvline(edge, color="k", ls=":", lw=1.0)
            ax.set_title(f"step {step}: {beyond} beyond TW edge")
            ax.set_xlabel("normalised σ")
    return fig


def plot_alpha_spikes(fits: pd.DataFrame) -> Figure:
    """Per matrix kind: the mean power-law α (status ok) and the mean MP spike count against step."""
    alpha = fits[(fits.law == "power_law") & (fits.status == "ok")].groupby(["kind", "step"])["alpha"].mean()
    spikes = fits[(fits.law == "marchenko_pastur") & (fits.status == "ok")].groupby(["kind", "step"])["num_spikes"].mean()
    steps = np.sort(fits.step.unique())
    with figure_style():
        fig, axes = new_figure(1, 2)
        ax_a, ax_s = axes[0]
        for i, kind in enumerate(sorted(fits.kind.unique())):
            color = TAB10[i % len(TAB10)]
            if kind in alpha.index.get_level_values(0):
                a = alpha.loc[kind]
                ax_a.plot(a.index, a.values, "o-", ms=3, color=color, label=kind)
            if kind in spikes.index.get_level_values(0):
                s = spikes.loc[kind]
                ax_s.plot(s.index, s.values, "o-", ms=3, color=color, label=kind)
        for ax, label in ((ax_a, "tail exponent α (CSN, λ density)"), (ax_s, "MP spikes (values above λ₊)")):
            set_step_axis(ax, steps)
            ax.set_ylabel(label)
            ax.set_xlabel("SGD step")
        ax_a.legend(loc="best", fontsize=7, ncol=2)
        ax_a.set_title("mean over matrices of a kind (status ok)")
    return fig
