"""One shared matplotlib style, figure creation and atomic figure saving.

Nothing here touches global matplotlib state at import time: the style is a plain
``rcParams`` dictionary applied through :func:`figure_style` (a ``matplotlib.rc_context``)
while a figure is being built, figures are created without ``pyplot`` and attached to the
Agg canvas, and :func:`save_figure` writes each format to a temporary name in the target
folder before renaming it into place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sgdspectra.io import atomic_path

log = logging.getLogger(__name__)

#: The project's single figure style (``rcParams`` keys and values).
STYLE: dict[str, Any] = {
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 7.5,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "none",
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.3,
    "figure.dpi": 100.0,
    "savefig.dpi": 150.0,
    "pdf.fonttype": 42,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    ),
}

#: Ten distinct colours for categorical series (transformers have up to nine matrix kinds).
TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

#: Resolution of the PNG written by :func:`save_figure`.
PNG_DPI = 150

#: Width of one panel and height of one row of panels, in inches.
PANEL_WIDTH = 3.2
PANEL_HEIGHT = 2.5


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply :data:`STYLE` for the duration of the ``with`` block."""
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(n_rows: int, n_cols: int, *, sharex: bool = False) -> tuple[Figure, np.ndarray]:
    """Create an Agg-backed, constrained-layout figure with an ``n_rows × n_cols`` axes grid.

    Call it inside :func:`figure_style` so that the style reaches every artist.
    Returns the figure and a 2-D object array of axes.
    """
    fig = Figure(figsize=(PANEL_WIDTH * n_cols, PANEL_HEIGHT * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=sharex)
    return fig, axes


def panel_grid(n_panels: int, max_cols: int = 4) -> tuple[Figure, list[Axes]]:
    """Create a figure with exactly ``n_panels`` axes, wrapped into rows of ``max_cols``."""
    if n_panels < 1:
        raise ValueError("a figure needs at least one panel")
    n_cols = min(n_panels, max_cols)
    n_rows = -(-n_panels // n_cols)
    fig, grid = new_figure(n_rows, n_cols)
    flat = list(grid.ravel())
    for ax in flat[n_panels:]:
        fig.delaxes(ax)
    return fig, flat[:n_panels]


def matrix_title(matrix: str, n_rows: int, n_cols: int) -> str:
    """The panel title naming a weight matrix and its PyTorch shape."""
    return f"{matrix} ({int(n_rows)}×{int(n_cols)})"


def set_step_axis(ax: Axes, steps: np.ndarray, label: str = "SGD step") -> None:
    """Use a symmetric-log x axis so that step 0 and late steps are both visible."""
    positive = np.asarray(steps, dtype=float)
    positive = positive[positive > 0]
    linthresh = float(positive.min()) if positive.size else 1.0
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.xaxis.set_major_locator(
        ticker.SymmetricalLogLocator(linthresh=linthresh, base=10.0, subs=[1.0])
    )
    ax.xaxis.set_minor_locator(
        ticker.SymmetricalLogLocator(linthresh=linthresh, base=10.0, subs=np.arange(2.0, 10.0))
    )
    if positive.size:  # steps are never negative: no empty negative half of the symlog axis
        ax.set_xlim(-0.05 * linthresh, float(positive.max()) * 1.15)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(label)


def _plain_number(value: float, _pos: int | None = None) -> str:
    return f"{value:g}"


def set_log_x(ax: Axes, values: np.ndarray) -> None:
    """Log x axis; over less than two decades of ``values`` ticks sit at 1, 2, 5 × 10ᵏ
    (denser below one decade), labelled as plain numbers."""
    ax.set_xscale("log")
    positive = np.asarray(values, dtype=float)
    positive = positive[positive > 0]
    decades = float(np.log10(positive.max() / positive.min())) if positive.size else np.inf
    if decades < 2.0:
        subs = (1.0, 2.0, 5.0) if decades >= 1.0 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10.0, subs=subs))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def subscript(i: int) -> str:
    """``i`` written with Unicode subscript digits (σ₁, σ₁₂)."""
    return str(i).translate(_SUBSCRIPTS)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def save_figure(
    fig: Figure, png_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str]
) -> None:
    """Write ``fig`` as PNG and PDF, each atomically, then close it.

    Each file is first written to a temporary name in its own folder and renamed with
    ``os.replace`` once complete (:func:`sgdspectra.io.atomic_path`), so a killed job never
    leaves a partial figure behind.
    """
    try:
        with figure_style():
            for path, fmt in ((png_path, "png"), (pdf_path, "pdf")):
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt, dpi=PNG_DPI)
        log.info("wrote %s and %s", png_path, pdf_path)
    finally:
        close_figure(fig)


def close_figure(fig: Figure) -> None:
    """Release ``fig``: close it in pyplot if pyplot manages it, else clear it."""
    if getattr(fig.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt  # only reached for pyplot-managed figures

        plt.close(fig)
    else:
        fig.clear()
