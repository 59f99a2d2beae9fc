"""Matrix-level vs eigenvalue-level SDE ensembles started from the same recorded spectrum."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sgdspectra.plotting.style import figure_style, matrix_title, new_figure

__all__ = ["plot_sde_levels"]

_LEVEL_STYLE = {"matrix_ou": ("C1", "matrix level (exact OU)"), "eigen": ("C2", "σ level (ordered scheme)")}
_LEVEL_LINE = {"matrix_ou": {"lw": 2.2}, "eigen": {"lw": 1.2, "ls": "--"}}


def _ecdf(ax, values: np.ndarray, **kw) -> None:
    v = np.sort(values[np.isfinite(values)])
    if v.size:
        ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", **kw)


def plot_sde_levels(ds: xr.Dataset, by_level: Mapping[str, Mapping[str, xr.Dataset]], levels: pd.DataFrame) -> Figure:
    """Per matrix: ECDF of pooled λ at the last time (both levels and observed), and λ_max ECDFs."""
    matrices = [m for m in by_level.get("matrix_ou", {}) if m in by_level.get("eigen", {})]
    if not matrices:
        raise ValueError("no matrix was simulated at both levels")
    with figure_style():
        fig, axes = new_figure(len(matrices), 2)
        for row, matrix in enumerate(matrices):
            ax_bulk, ax_top = axes[row]
            step = int(by_level["matrix_ou"][matrix]["step"].values[-1])
            for level in ("matrix_ou", "eigen"):
                color, label = _LEVEL_STYLE[level]
                lam = by_level[level][matrix]["lam"].isel(t=-1).transpose("replica", "k").values
                _ecdf(ax_bulk, lam.ravel(), color=color, label=label, **_LEVEL_LINE[level])
                _ecdf(ax_top, lam[:, 0], color=color, label=label, **_LEVEL_LINE[level])
            if step in ds.step.values:
                obs = ds.sigma.sel(matrix=matrix, step=step).values ** 2
                _ecdf(ax_bulk, obs, color="C0", lw=1.8, label="observed")
                ax_top.axvline(np.nanmax(obs), color="C0", lw=1.8, label="observed λ_max")
            info = levels[levels.matrix == matrix]
            shape = matrix_title(matrix, int(ds.n_rows.sel(matrix=matrix)), int(ds.n_cols.sel(matrix=matrix)))
            ax_bulk.set_title(f"{shape}, step {step}")
            ax_bulk.set_xscale("log")
            ax_bulk.set_xlabel("λ = σ²")
            ax_bulk.set_ylabel("ECDF")
            if float(by_level["matrix_ou"][matrix].attrs.get("s", 1.0)) == 0.0:
                ax_top.set_title("no s > 0 matches the observed energy: not simulated (s = 0)")
            elif not info.empty:
                r = info.iloc[0]
                ax_top.set_title(f"λ_max, {int(r.n_replicas)} replicas: KS {r.ks_lam_max:.2f}, p {r.p_lam_max:.2g}")
            ax_top.set_xlabel("λ_max")
            if row == 0:
                ax_bulk.legend(loc="upper left", fontsize=6.5, framealpha=0.6)
                ax_top.legend(loc="upper left", fontsize=6.5, framealpha=0.6)
    return fig
