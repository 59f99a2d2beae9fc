"""Figure of the training curves of one run."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sgdspectra.plotting.style import figure_style, new_figure

log = logging.getLogger(__name__)


def plot_training_curves(ds: xr.Dataset) -> Figure:
    """Loss (left) and accuracy (right) against step for the train and validation splits.

    The minibatch loss ``batch_loss`` is drawn lightly against ``iteration`` behind the
    loss curves when the run file has it.
    """
    steps = np.asarray(ds["step"].values)
    with figure_style():
        fig, axes = new_figure(1, 2)
        ax_loss, ax_acc = axes[0]
        if "batch_loss" in ds and ds.sizes.get("iteration", 0) > 0:
            ax_loss.plot(ds["iteration"].values, ds["batch_loss"].values, color="0.6", lw=0.6,
                         alpha=0.5, label="minibatch loss")
        for name, color, label in (("train_loss", "C0", "train"), ("val_loss", "C1", "validation")):
            if name in ds:
                ax_loss.plot(steps, ds[name].values, "o-", ms=3, color=color, label=label)
        for name, color, label in (
            ("train_accuracy", "C0", "train"), ("val_accuracy", "C1", "validation"),
        ):
            if name in ds:
                ax_acc.plot(steps, ds[name].values, "o-", ms=3, color=color, label=label)
        ax_loss.set_xlabel("SGD step")
        ax_loss.set_ylabel("cross-entropy loss")
        ax_loss.set_title("loss")
        ax_acc.set_xlabel("SGD step")
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_ylim(-0.02, 1.02)
        ax_acc.set_title("accuracy")
        model = ds.attrs.get("title")
        if model:
            fig.suptitle(str(model))
        for ax in (ax_loss, ax_acc):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best")
    return fig
