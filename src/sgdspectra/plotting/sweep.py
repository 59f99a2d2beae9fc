"""The temperature sweep figure: stationary scale and tail exponent against ηD and η/B."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from sgdspectra.plotting.style import TAB10, figure_style, new_figure

__all__ = ["plot_temperature_sweep"]

_X = {"eta_D": "temperature ηD (measured D, η = lr/(1−μ))", "eta_over_B": "η / B"}
_Y = {"mp_variance": "fitted MP variance (entry scale)", "alpha": "tail exponent α (CSN)"}


def plot_temperature_sweep(table: pd.DataFrame, slopes: pd.DataFrame) -> Figure:
    """Rows: MP variance, α; columns: against ηD and η/B; one colour per matrix. The theory's
    parameter-free prediction ηD/γ is drawn on the variance-vs-ηD panel; legends give the fitted
    log-log slopes with their intervals."""
    matrices = sorted(table.matrix.unique())
    with figure_style():
        fig, axes = new_figure(2, 2)
        fig.set_size_inches(10, 7)
        for r, yname in enumerate(_Y):
            for c, xname in enumerate(_X):
                ax = axes[r, c]
                for i, matrix in enumerate(matrices):
                    g = table[table.matrix == matrix]
                    s = slopes[(slopes.matrix == matrix) & (slopes.x == xname) & (slopes.y == yname)]
                    lab = matrix
                    if len(s) and np.isfinite(s.slope.iloc[0]):
                        lab += f": slope {s.slope.iloc[0]:.2f} [{s.low.iloc[0]:.2f}, {s.high.iloc[0]:.2f}]"
                    ax.scatter(g[xname], g[yname], s=16, color=TAB10[i % len(TAB10)], label=lab)
                if yname == "mp_variance" and xname == "eta_D" and table.predicted_variance.notna().any():
                    x = np.sort(table[xname].dropna().to_numpy())
                    gamma = float(table.weight_decay.iloc[0])
                    ax.plot(x, x / gamma, "k--", lw=1, label=f"theory ηD/γ (γ = {gamma:g}), slope 1")
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
                if yname == "mp_variance":
                    ax.set_yscale("log")
                ax.set_xlabel(_X[xname])
                ax.set_ylabel(_Y[yname])
                ax.legend(loc="best", fontsize=6.5)
        fig.suptitle("Temperature sweep: learning rate × batch size (each point one run and matrix, final step)")
    return fig
