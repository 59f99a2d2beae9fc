"""Which weight matrices a model has, and their shapes, without building it (no torch import).

The workflow uses this to know the per-matrix jobs before training has run (CASES 26).
:mod:`sgdspectra.models` builds networks whose 2-D parameters match this list exactly (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MatrixSpec", "DATASET_SHAPES", "matrix_specs"]

#: (input dimension, number of classes) of each supported data set.
DATASET_SHAPES: dict[str, tuple[int, int]] = {"digits": (64, 10)}


@dataclass(frozen=True)
class MatrixSpec:
    """One analysed weight matrix: its name in the spectra file, PyTorch shape and kind."""

    name: str
    n_rows: int
    n_cols: int
    kind: str


def matrix_specs(architecture: str, hidden: list[int] | tuple[int, ...], dataset: str) -> list[MatrixSpec]:
    """List the 2-D weights of a model in forward order."""
    if architecture != "mlp":
        raise ValueError(f"unknown architecture {architecture!r}")
    if dataset not in DATASET_SHAPES:
        raise ValueError(f"unknown data set {dataset!r}")
    d_in, d_out = DATASET_SHAPES[dataset]
    widths = [d_in, *hidden, d_out]
    specs = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        kind = "mlp_in" if i == 0 else ("mlp_out" if i == len(widths) - 2 else "mlp_hidden")
        specs.append(MatrixSpec(f"layers.{i}", fan_out, fan_in, kind))
    return specs
