"""The small convolutional network of the paper's experiment B (CIFAR-10).

Each convolution block is conv k x k ('same' padding k // 2, stride 1) -> ReLU -> 2x2 max-pool;
then the feature maps are flattened and fully connected layers with ReLU between them map to the
classes. With the paper's sizes on 32x32x3 images (channels 16, 32; kernel 3; one hidden layer
of 120):

    (B, 3, 32, 32) -conv1-> (B, 16, 32, 32) -pool-> (B, 16, 16, 16)
                   -conv2-> (B, 32, 16, 16) -pool-> (B, 32, 8, 8) -flatten-> (B, 2048)
                   -fc1-> (B, 120) -fc2-> (B, 10)

so fc1 is the paper's 2048 -> 120 layer (PyTorch weight 120 x 2048). A kernel of 5 with padding 2
gives the same shapes. Every convolution kernel (out, in, k, k) is analysed as the matrix
(out, in * k * k) that the convolution applies to each k x k patch (a view of the parameter, so
its gradient is available to the recorder).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from .architecture import cnn_feature_side

__all__ = ["CNN", "init_layers"]


def init_layers(layers: Iterable[nn.Linear | nn.Conv2d], init: str) -> None:
    """Initialise ``layers`` in order (shared by the MLP and the CNN).

    ``"normal_fan_in"`` (the paper's): every weight from N(0, 1/fan_in), fan_in being the number of
    columns of the analysed matrix (in_features, or in_channels * k * k), zero biases;
    ``"pytorch_default"`` keeps PyTorch's own initialisation.
    """
    if init == "normal_fan_in":
        for layer in layers:
            fan_in = layer.weight[0].numel()  # in_features, or in_channels * k * k
            nn.init.normal_(layer.weight, mean=0.0, std=1.0 / math.sqrt(fan_in))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    elif init != "pytorch_default":
        raise ValueError(f"unknown init {init!r}")


class CNN(nn.Module):
    """Conv blocks (conv, ReLU, max-pool) then an MLP head; inputs flat (B, C*H*W) or (B, C, H, W).

    ``init="normal_fan_in"`` draws every weight from N(0, 1/fan_in), fan_in being the number of
    columns of the analysed matrix (in_channels * k * k for a convolution, in_features for a linear
    layer), with zero biases; ``"pytorch_default"`` keeps PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    def __init__(
        self, image_size: int, in_channels: int, n_classes: int, channels: Sequence[int] = (16, 32),
        kernel_size: int = 3, fc_hidden: Sequence[int] = (120,), bias: bool = True, init: str = "normal_fan_in",
    ) -> None:
        super().__init__()
        if not channels:
            raise ValueError("a CNN needs at least one convolution block")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd ('same' padding), got {kernel_size}")
        side = cnn_feature_side(image_size, len(channels))
        if side < 1:
            raise ValueError(f"{len(channels)} pooling blocks shrink {image_size}x{image_size} images to nothing")
        self.image_size, self.in_channels = image_size, in_channels
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=bias)
            for c_in, c_out in zip([in_channels, *channels[:-1]], channels)
        )
        widths = [channels[-1] * side * side, *fc_hidden, n_classes]
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(widths[:-1], widths[1:]))
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        init_layers([*self.convs, *self.fcs], init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C*H*W) or (B, C, H, W) -> logits (B, n_classes)
        h = x.reshape(x.shape[0], self.in_channels, self.image_size, self.image_size)  # (B, C, H, W)
        for conv in self.convs:
            h = self.pool(self.act(conv(h)))  # (B, c_out, H // 2, W // 2)
        h = h.flatten(1)  # (B, c_last * side * side): (B, 2048) for the paper's CNN on CIFAR-10
        for i, fc in enumerate(self.fcs):
            h = fc(h)
            if i < len(self.fcs) - 1:
                h = self.act(h)
        return h

    def weight_matrices(self) -> Iterator[tuple[str, str, torch.Tensor]]:
        """``conv1``, ``conv2``, ... (kind ``conv``, shape (out, in*k*k)), then ``fc1``, ... (kind ``fc``;
        the last, to the classes, kind ``head``), as in :func:`sgdspectra.architecture.cnn_specs`."""
        for i, conv in enumerate(self.convs, start=1):
            yield f"conv{i}", "conv", conv.weight.flatten(1)  # a view of the (out, in, k, k) parameter
        last = len(self.fcs)
        for i, fc in enumerate(self.fcs, start=1):
            yield f"fc{i}", "head" if i == last else "fc", fc.weight
