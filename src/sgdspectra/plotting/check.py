"""Stationary laws of the SDE: both simulation levels against the exact laws and the paper's Eq. 13."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from scipy import stats

from sgdspectra.laws import mp_pdf
from sgdspectra.plotting.style import figure_style, new_figure

__all__ = ["plot_stationary_check"]

_LEVELS = {"matrix_ou": ("C1", "matrix level"), "eigen": ("C2", "σ level")}


def _ks(table: pd.DataFrame, case: str, law: str) -> str:
    rows = table[(table.case == case) & (table.law == law)]
    return "KS " + ", ".join(f"{_LEVELS[r.level][1].split()[0]} {r.ks:.3f}" for r in rows.itertuples())


def plot_stationary_check(sims: Mapping[tuple[str, str], xr.Dataset], table: pd.DataFrame) -> Figure:
    """Left: λ/m of an m x n matrix vs Marchenko–Pastur. Right: λ of an m x 1 vector vs the exact
    gamma and the paper's Eq. 13 (rate fitted). Legends carry the KS distances from ``table``."""
    with figure_style():
        fig, axes = new_figure(1, 2)
        fig.set_size_inches(11, 4)
        ax_w, ax_v = axes[0]
        for (case, level), ds in sorted(sims.items()):
            color, label = _LEVELS[level]
            lam = ds["lam"].isel(t=-1).values.ravel()
            lam = lam[np.isfinite(lam)]
            m = int(ds.attrs["m"])
            ax = ax_w if case == "wishart" else ax_v
            x = lam / m if case == "wishart" else lam
            ax.hist(x, bins=40, density=True, histtype="step", color=color, lw=1.4, label=f"{label} (n = {x.size})")
        for (case, level), ds in sims.items():
            m, n, s, gamma = int(ds.attrs["m"]), int(ds.attrs["n"]), float(ds.attrs["s"]), float(ds.attrs["gamma"])
            if case == "wishart" and level == "matrix_ou":
                v, q = s / (2 * gamma), n / m
                grid = np.linspace(v * (1 - np.sqrt(q)) ** 2, v * (1 + np.sqrt(q)) ** 2, 400)
                ax_w.plot(grid, mp_pdf(grid, v, q), "k--",
                          label=f"MP(s/2γ, q={q:.2g}): {_ks(table, 'wishart', 'marchenko_pastur')}")
                ax_w.set_title(f"{m}×{n} matrix from W = 0, t = {float(ds.t[-1]):g}")
                ax_w.set_xlabel("λ / m")
            if case == "vector" and level == "matrix_ou":
                lam = ds["lam"].isel(t=-1).values.ravel()
                grid = np.linspace(0, np.quantile(lam, 0.999) * 1.1, 400)
                ax_v.plot(grid, stats.gamma(m / 2, scale=s / gamma).pdf(grid), "k-", label=f"exact Gamma(m/2, γ/s): {_ks(table, 'vector', 'gamma_exact')}")
                eq = table[(table.case == "vector") & (table.law == "eq13") & (table.level == level)]
                if not eq.empty:
                    r = eq.iloc[0]
                    ax_v.plot(grid, stats.gamma(r["shape"], scale=1 / r["rate"]).pdf(grid), "k:",
                              label=f"Eq. 13 shape (m+2)/4, fitted rate: {_ks(table, 'vector', 'eq13')}")
                ax_v.set_title(f"{m}×1 vector from W = 0, t = {float(ds.t[-1]):g}")
                ax_v.set_xlabel("λ = σ²")
        for ax in (ax_w, ax_v):
            ax.set_ylabel("density")
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.12), fontsize=7)
    return fig
