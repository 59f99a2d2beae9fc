"""Eigenvalue repulsion: the spacing ratio ⟨r⟩ of the bulk singular values against step."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sgdspectra.plotting.style import TAB10, figure_style, new_figure, set_step_axis

__all__ = ["plot_repulsion"]


def plot_repulsion(rep: pd.DataFrame) -> Figure:
    """Per matrix kind, the mean ⟨r⟩ over its matrices (status ok) with the mean bootstrap interval,
    and the GOE (repulsion) and Poisson (independent values) references."""
    ok = rep[rep.status == "ok"]
    steps = np.sort(rep.step.unique())
    with figure_style():
        fig, axes = new_figure(1, 1)
        fig.set_size_inches(7, 3.6)
        ax = axes[0, 0]
        for i, (kind, g) in enumerate(ok.groupby("kind", sort=True)):
            agg = g.groupby("step")[["mean_r", "low", "high"]].mean()
            color = TAB10[i % len(TAB10)]
            ax.plot(agg.index, agg.mean_r, "o-", ms=3, color=color, label=kind)
            ax.fill_between(agg.index, agg.low, agg.high, color=color, alpha=0.15, lw=0)
        r_goe, r_poisson = float(rep.r_goe.iloc[0]), float(rep.r_poisson.iloc[0])
        ax.axhline(r_goe, color="k", ls="--", lw=1, label=f"GOE {r_goe:.4f} (repulsion)")
        ax.axhline(r_poisson, color="k", ls=":", lw=1, label=f"Poisson {r_poisson:.4f} (none)")
        set_step_axis(ax, steps)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("⟨r⟩ of bulk σ (10–90 %)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
        n_bad = int((rep.status != "ok").sum())
        ax.set_title(f"spacing ratio per matrix kind; band: mean {int(100 * rep.level.iloc[0])} % bootstrap interval"
                     + (f"; {n_bad} spectra too small" if n_bad else ""))
    return fig
