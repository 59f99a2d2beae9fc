"""Figure of the stationary-law fits at the final step of a run."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from sgdspectra.laws import mp_pdf, power_law_pdf
from sgdspectra.plotting.esd import finite_values, matrix_shape
from sgdspectra.plotting.style import figure_style, matrix_title, panel_grid, set_log_x

log = logging.getLogger(__name__)

#: Laws drawn, with their legend names and colours.
LAWS: dict[str, tuple[str, str]] = {
    "eq13": ("Eq. 13 gamma", "C1"),
    "gamma_exact": ("exact gamma", "C2"),
    "marchenko_pastur": ("MP (λ = M·λ_mp)", "C3"),
    "power_law": ("power law", "C6"),
}


def fit_rows(fits: pd.DataFrame, ds: xr.Dataset, matrix: str, step: int) -> dict[str, pd.Series]:
    """The fit-table row of each law for ``matrix`` at ``step`` (first row if several).

    When both the table and the run carry a seed, only that seed's rows are used.
    """
    rows = fits[(fits["matrix"].astype(str) == matrix) & (fits["step"] == step)]
    seed = ds.attrs.get("seed")
    if "seed" in rows.columns and seed is not None:
        rows = rows[rows["seed"].astype(str) == str(seed)]
    out: dict[str, pd.Series] = {}
    for law, group in rows.groupby("law", sort=False):
        if len(group) > 1:
            log.warning("%d fit rows for %s, step %d, law %s; drawing the first",
                        len(group), matrix, step, law)
        out[str(law)] = group.iloc[0]
    return out


def law_density(
    law: str, row: pd.Series, lam: np.ndarray, shape: tuple[int, int], n_pos: int
) -> np.ndarray:
    """Density in λ = σ² units of a fitted law, evaluated on ``lam``.

    ``shape`` is the PyTorch shape of the matrix (M = max, N = min, q = N / M unless the
    row stores q); ``n_pos`` is the number of positive λ in the histogram (the power law
    describes the fraction ``n_tail / n_pos`` of them, those above ``xmin``).
    """
    n_big = max(shape)
    if law in ("eq13", "gamma_exact"):
        return stats.gamma(float(row["shape"]), scale=1.0 / float(row["rate"])).pdf(lam)
    if law == "marchenko_pastur":
        q = float(row.get("q", np.nan))
        q = q if np.isfinite(q) else min(shape) / n_big
        return np.asarray(mp_pdf(lam / n_big, float(row["variance"]), q)) / n_big
    if law == "power_law":
        alpha, xmin = float(row["alpha"]), float(row["xmin"])
        weight = float(row["n_tail"]) / max(n_pos, 1)
        dens = weight * power_law_pdf(lam, alpha, xmin)
        return np.where(lam >= xmin, dens, np.nan)
    raise ValueError(f"unknown law {law!r}")


def law_label(law: str, row: pd.Series | None) -> tuple[str, bool]:
    """Legend text for ``law`` and whether its curve can be drawn."""
    name = LAWS[law][0]
    if row is None:
        return f"{name}: not fitted at this step", False
    status = str(row["status"])
    if status != "ok":
        return f"{name}: not drawn ({status})", False
    ks = float(row["ks"]) if pd.notna(row.get("ks")) else np.nan
    extra = f", α = {float(row['alpha']):.2f}" if law == "power_law" else ""
    return f"{name}{extra}, KS = {ks:.3f}", True


def log_bins(lam: np.ndarray, n_bins: int) -> np.ndarray:
    """Logarithmically spaced bin edges covering the positive values ``lam``."""
    lo, hi = float(lam.min()), float(lam.max())
    if hi <= lo * (1 + 1e-9):
        lo, hi = lo / 1.5, hi * 1.5
    return np.geomspace(lo, hi * (1 + 1e-9), n_bins + 1)


def draw_fit_panel(
    ax: Axes, lam_all: np.ndarray, rows: dict[str, pd.Series], shape: tuple[int, int]
) -> None:
    """Histogram of the positive λ on a log-log axis with each fitted law overlaid."""
    lam = lam_all[lam_all > 0]
    n_zeros = int(lam_all.size - lam.size)
    if n_zeros:
        log.warning("dropped %d exact zeros from a log-scale histogram", n_zeros)
        ax.text(0.98, 0.97, f"{n_zeros} zero λ dropped", transform=ax.transAxes,
                ha="right", va="top", fontsize=7)
    if lam.size == 0:
        ax.text(0.5, 0.5, "no positive λ", transform=ax.transAxes, ha="center")
        return
    edges = log_bins(lam, int(np.clip(2 * np.sqrt(lam.size), 5, 60)))
    heights, _, _ = ax.hist(lam, bins=edges, density=True, color="C0", alpha=0.5,
                            label=f"observed λ (n = {lam.size})")
    grid = np.geomspace(edges[0] / 2.0, edges[-1] * 2.0, 500)
    for law, (_, color) in LAWS.items():
        row = rows.get(law)
        label, drawable = law_label(law, row)
        if drawable and row is not None:
            style = "-" if law != "marchenko_pastur" else "--"
            ax.plot(grid, law_density(law, row, grid, shape, lam.size), style, color=color,
                    label=label)
        else:
            ax.plot([], [], " ", label=label)
    positive = heights[heights > 0]
    set_log_x(ax, grid)
    ax.set_yscale("log")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(positive.min() / 20.0, positive.max() * 5.0)


def plot_stationary_fits(ds: xr.Dataset, fits: pd.DataFrame) -> Figure:
    """Per matrix, the final-step histogram of λ = σ² with the fitted stationary laws.

    Laws drawn from the fit table (rows at the run's final step): ``eq13`` and
    ``gamma_exact`` as gamma densities with the stored shape and rate, the
    Marchenko–Pastur fit mapped to λ units (λ = M·λ_mp), and the power-law tail above
    ``xmin``. A law whose status is not ``ok`` is not drawn and its legend entry says why;
    every drawn entry shows the KS distance stored in the table. Exact zeros are dropped
    from the log-scale histogram and counted on the panel.
    """
    matrices = [str(m) for m in ds["matrix"].values]
    step = int(ds["step"].values[-1])
    with figure_style():
        fig, axes = panel_grid(len(matrices), max_cols=2)
        fig.set_figwidth(fig.get_figwidth() * 1.6)
        for ax, matrix in zip(axes, matrices, strict=True):
            n_rows, n_cols, _ = matrix_shape(ds, matrix)
            sigma = finite_values(ds["sigma"].sel(matrix=matrix, step=step))
            draw_fit_panel(ax, sigma**2, fit_rows(fits, ds, matrix, step), (n_rows, n_cols))
            ax.set_title(f"{matrix_title(matrix, n_rows, n_cols)}, step {step}")
            ax.set_xlabel("λ = σ²")
            ax.set_ylabel("density p(λ)")
            ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7)
    return fig
