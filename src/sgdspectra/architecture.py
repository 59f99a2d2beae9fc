"""Which weight matrices a model has, known from its config alone (no torch import).

The workflow uses this to list per-matrix jobs before training has run (CASES 26). The torch
models in :mod:`sgdspectra.models` and :mod:`sgdspectra.transformer` expose exactly these names
and kinds through ``weight_matrices()`` (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["IMAGE_SHAPES", "MatrixSpec", "cnn_feature_side", "cnn_specs", "matrix_layout", "matrix_specs"]

#: (image side, channels, classes) of each supported image data set.
IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {
    "digits": (8, 1, 10), "mnist": (28, 1, 10), "cifar10": (32, 3, 10),
}


@dataclass(frozen=True)
class MatrixSpec:
    """One analysed weight matrix of an MLP or a CNN: its name, PyTorch shape (as analysed) and kind."""

    name: str
    n_rows: int
    n_cols: int
    kind: str


def matrix_specs(architecture: str, hidden: list[int] | tuple[int, ...], dataset: str) -> list[MatrixSpec]:
    """Names, shapes and kinds of an MLP's weights in forward order."""
    if architecture != "mlp":
        raise ValueError(f"matrix_specs knows shapes of mlp only, got {architecture!r}")
    if dataset not in IMAGE_SHAPES:
        raise ValueError(f"unknown image data set {dataset!r}")
    side, channels, n_classes = IMAGE_SHAPES[dataset]
    widths = [side * side * channels, *hidden, n_classes]
    specs = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        kind = "mlp_in" if i == 0 else ("mlp_out" if i == len(widths) - 2 else "mlp_hidden")
        specs.append(MatrixSpec(f"layers.{i}", fan_out, fan_in, kind))
    return specs


def cnn_feature_side(image_size: int, n_conv: int) -> int:
    """Side of the feature maps after ``n_conv`` blocks of ('same' convolution, ReLU, 2x2 max-pool).

    Each block keeps the side through the convolution (padding kernel_size // 2, odd kernels) and
    halves it, rounding down, in the pooling: 32 -> 16 -> 8 for CIFAR-10 and two blocks.
    """
    side = image_size
    for _ in range(n_conv):
        side //= 2
    return side


def cnn_specs(
    channels: list[int] | tuple[int, ...], kernel_size: int, fc_hidden: list[int] | tuple[int, ...], dataset: str
) -> list[MatrixSpec]:
    """Names, PyTorch shapes and kinds of a CNN's analysed matrices in forward order.

    Convolution kernels (out, in, k, k) are analysed as (out, in * k * k) matrices named ``conv1``,
    ``conv2``, ... of kind ``conv``; the fully connected layers are ``fc1``, ``fc2``, ... of kind
    ``fc``, the last one (to the classes) of kind ``head``. The paper's CNN on CIFAR-10 (channels
    16, 32; kernel 3; fc_hidden 120) has conv1 16x27, conv2 32x144, fc1 120x2048 and fc2 10x120.
    """
    if dataset not in IMAGE_SHAPES:
        raise ValueError(f"unknown image data set {dataset!r}")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd ('same' padding), got {kernel_size}")
    side, in_channels, n_classes = IMAGE_SHAPES[dataset]
    feature_side = cnn_feature_side(side, len(channels))
    if feature_side < 1:
        raise ValueError(f"{len(channels)} pooling blocks shrink the {side}x{side} images of {dataset} to nothing")
    specs = [
        MatrixSpec(f"conv{i}", c_out, c_in * kernel_size * kernel_size, "conv")
        for i, (c_in, c_out) in enumerate(zip([in_channels, *channels[:-1]], channels), start=1)
    ]
    widths = [channels[-1] * feature_side * feature_side, *fc_hidden, n_classes]
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        specs.append(MatrixSpec(f"fc{i}", fan_out, fan_in, "head" if i == len(widths) - 1 else "fc"))
    return specs


def _block_layout(n_layer: int, split_heads: bool, n_head: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n_layer):
        for letter in "qkv":
            out.append((f"blocks.{i}.attn.{letter}", f"attn_{letter}"))
            if split_heads:
                out.extend((f"blocks.{i}.attn.{letter}.head{h}", f"attn_{letter}_head") for h in range(n_head))
        out += [(f"blocks.{i}.attn.o", "attn_o"), (f"blocks.{i}.mlp.fc_in", "mlp_in"),
                (f"blocks.{i}.mlp.fc_out", "mlp_out")]
    return out


def matrix_layout(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, kind) of every analysed matrix of a validated ``models.<name>`` config entry."""
    arch = spec["architecture"]
    if arch == "mlp":
        return [(m.name, m.kind) for m in matrix_specs(arch, spec["hidden"], spec["data"]["name"])]
    if arch == "cnn":
        c = spec["cnn"]
        specs = cnn_specs(c["channels"], c["kernel_size"], c["fc_hidden"], spec["data"]["name"])
        return [(m.name, m.kind) for m in specs]
    tr = spec["transformer"]
    blocks = _block_layout(tr["n_layer"], tr["split_heads"], tr["n_head"])
    if arch == "gpt":
        head = [] if tr["tie_weights"] else [("head", "head")]
        return [("tok_emb", "embed"), ("pos_emb", "pos_embed"), *blocks, *head]
    if arch == "vit":
        return [("patch_embed", "embed"), ("pos_emb", "pos_embed"), *blocks, ("head", "head")]
    raise ValueError(f"unknown architecture {arch!r}")
