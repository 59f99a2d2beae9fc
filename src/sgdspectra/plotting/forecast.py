"""Forecast and dynamics figures: predicted vs observed top singular values, error and skill
against horizon, the magnitudes of the SDE's drift terms, and the term-by-term regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sgdspectra.plotting.style import TAB10, figure_style, new_figure, panel_grid, set_step_axis, subscript

__all__ = ["plot_dynamics_terms", "plot_forecast_skill", "plot_forecast_top", "plot_increment_regression"]

FORECAST_STYLE = {"sde": ("C0", "-", "calibrated SDE (median, 5–95 %)"), "tracker": ("C3", "--", "first-order tracker"),
                  "linear": ("C2", ":", "linear extrapolation"), "frozen": ("0.5", "-.", "frozen at t₀")}


def plot_forecast_top(fc: xr.Dataset, top_k: int = 8) -> Figure:
    """Per tracked matrix: observed top-k sigma(t) (dots) and each forecaster (log scale), with the
    SDE ensemble's 5–95 % band."""
    matrices = [str(m) for m in fc["matrix"].values]
    steps = fc["step"].values
    with figure_style():
        fig, axes = panel_grid(len(matrices) * 2, max_cols=2)
        for j, matrix in enumerate(matrices):
            sub = fc.sel(matrix=matrix)
            obs = sub["observed"].values
            k = min(top_k, int(np.sum(np.isfinite(obs[0]))))
            for col, name in enumerate(("sde", "tracker")):
                ax = axes[2 * j + col]
                for i in range(k):
                    color = TAB10[i % len(TAB10)]
                    if name == "sde":
                        ens = np.sort(sub["sde"].values, axis=-1)[..., ::-1][:, :, i]
                        if np.any(np.isfinite(ens)):
                            lo, med, hi = np.nanpercentile(ens, [5, 50, 95], axis=0)
                            ax.fill_between(steps, lo, hi, color=color, alpha=0.3, lw=0)
                            ax.plot(steps, med, "-", color=color, lw=1)
                    else:
                        ax.plot(steps, sub["tracker"].values[:, i], "--", color=color, lw=1)
                        ax.plot(steps, sub["linear"].values[:, i], ":", color=color, lw=1)
                    ax.plot(steps, obs[:, i], "o", ms=3, color=color, zorder=3)
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(ticker.MaxNLocator(6))
                ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%.2f"))
                ax.yaxis.set_minor_formatter(ticker.NullFormatter())
                ax.set_xlabel("SGD step")
                ax.set_ylabel(f"σ₁ … σ{subscript(k)} (colour = rank)")
                ax.axvline(int(fc.attrs["t0"]), color="k", lw=0.6)
                handles = [Line2D([], [], color="0.3", marker="o", ls="", ms=3, label="observed")]
                if name == "sde":
                    handles += [Line2D([], [], color="0.3", ls="-", label="SDE median (per rank)"),
                                Patch(color="0.3", alpha=0.3, label="SDE 5–95 %")]
                else:
                    handles += [Line2D([], [], color="0.3", ls="--", label="first-order tracker"),
                                Line2D([], [], color="0.3", ls=":", label="linear extrapolation")]
                handles.append(Line2D([], [], color="k", lw=0.6, label=f"t₀ = {int(fc.attrs['t0'])}"))
                ax.legend(handles=handles, fontsize=6, loc="upper left")
                ax.set_title(f"{matrix}: {'calibrated SDE ensemble' if name == 'sde' else 'tracker and linear'}",
                             fontsize=8)
    return fig


def plot_forecast_skill(scores: pd.DataFrame) -> Figure:
    """Rows: tracked matrices; columns: W1 error, top-8 relative error, and skill (W1) against
    the horizon, one line per forecaster (mean over seeds)."""
    matrices = list(dict.fromkeys(scores.matrix))
    with figure_style():
        fig, axes = new_figure(len(matrices), 3)
        for r, matrix in enumerate(matrices):
            g = scores[scores.matrix == matrix]
            for f, (color, ls, label) in FORECAST_STYLE.items():
                h = g[g.forecaster == f].groupby("horizon")[["w1", "top8_rel_error", "skill_w1"]].mean()
                if h.empty or not np.any(np.isfinite(h.to_numpy())):
                    continue
                axes[r, 0].plot(h.index, h.w1, ls, color=color, marker="o", ms=2.5, label=label)
                axes[r, 1].plot(h.index, h.top8_rel_error, ls, color=color, marker="o", ms=2.5)
                if f != "frozen":
                    axes[r, 2].plot(h.index, h.skill_w1, ls, color=color, marker="o", ms=2.5)
            axes[r, 2].axhline(0.0, color="0.5", lw=0.8)
            for c, ylabel in enumerate(("W₁ distance to observed σ", "top-8 relative error", "skill (W₁) vs frozen")):
                ax = axes[r, c]
                ax.set_xlabel("horizon (SGD steps after t₀)")
                ax.set_ylabel(ylabel)
                ax.set_title(matrix, fontsize=8)
                if c < 2:
                    ax.set_yscale("symlog", linthresh=1e-4)
        axes[0, 0].legend(fontsize=6, loc="best")
    return fig


def plot_dynamics_terms(ds: xr.Dataset) -> Figure:
    """Per measured matrix: median over singular values of |each drift term| and the noise
    amplitude sqrt(s), per unit SDE time, against step."""
    measured = [str(m) for m in ds["matrix"].values if np.any(np.isfinite(ds["dyn_sigma"].sel(matrix=m).values))]
    steps = ds["dyn_step"].values
    with figure_style():
        fig, axes = panel_grid(len(measured), max_cols=3)
        for ax, matrix in zip(axes, measured):
            sub = ds.sel(matrix=matrix)
            for term, color, label in (("drift_gradient", "C0", "|gradient term| g̃ᵢ"),
                                       ("drift_mp", "C1", "(M−N)s/(2σᵢ)"),
                                       ("drift_repulsion", "C2", "|repulsion| sΣ σᵢ/(σᵢ²−σⱼ²)")):
                vals = np.nanmedian(np.abs(sub[term].values), axis=1)
                if np.any(vals > 0):
                    ax.plot(steps, vals, "o-", ms=2.5, color=color, label=label)
            ax.plot(steps, np.sqrt(sub["s_noise"].values), "s-", ms=2.5, color="C3", label="noise amplitude √s")
            ax.set_yscale("log")
            set_step_axis(ax, steps)
            ax.set_ylabel("median |term| (per unit SDE time)")
            ax.set_title(f"{matrix} ({int(sub.n_rows)}×{int(sub.n_cols)})", fontsize=8)
        axes[0].legend(fontsize=6, loc="best")
    return fig


def plot_increment_regression(reg: pd.DataFrame) -> Figure:
    """Fitted coefficient of each drift term with its 95 % interval, per matrix and phase of
    training; the theory predicts 1 (dashed). Annotated with R² and the diffusion ratio."""
    ok = reg[reg.status == "ok"]
    phases = ["early", "middle", "late", "all"]
    terms = [("gradient", "gradient −g̃ᵢ"), ("mp", "(M−N)s/(2σᵢ)"), ("repulsion", "repulsion")]
    matrices = list(dict.fromkeys(ok.matrix)) or list(dict.fromkeys(reg.matrix))
    with figure_style():
        fig, axes = new_figure(1, len(terms))
        fig.set_size_inches(4.2 * len(terms), 3.4)
        width = 0.8 / max(len(matrices), 1)
        for c, (term, label) in enumerate(terms):
            ax = axes[0, c]
            for i, matrix in enumerate(matrices):
                g = ok[ok.matrix == matrix].set_index("phase").reindex(phases)
                x = np.arange(len(phases)) + (i - (len(matrices) - 1) / 2) * width
                y = g[f"b_{term}"].to_numpy(dtype=float)
                err = np.vstack([y - g[f"b_{term}_lo"].to_numpy(dtype=float), g[f"b_{term}_hi"].to_numpy(dtype=float) - y])
                ax.errorbar(x, y, yerr=err, fmt="o", ms=3, capsize=2, color=TAB10[i % len(TAB10)],
                            label=matrix if c == 0 else None)
            ax.axhline(1.0, color="k", ls="--", lw=0.8)
            ax.axhline(0.0, color="0.6", lw=0.6)
            ax.set_xticks(np.arange(len(phases)), phases)
            ax.set_ylabel("coefficient (theory: 1)")
            ax.set_title(f"{label}", fontsize=9)
            ax.set_yscale("symlog", linthresh=1.0)
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
        axes[0, 0].legend(fontsize=6, loc="best")
        allrows = ok[ok.phase == "all"]
        note = "; ".join(f"{r.matrix}: R² {r.r2:.2f}, diffusion ratio {r.diffusion_ratio:.2f}" for r in allrows.itertuples())
        fig.suptitle(f"Δσᵢ regressed on the σ-SDE drift terms (95 % intervals). All windows: {note}", fontsize=8)
    return fig
