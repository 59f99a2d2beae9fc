"""PyTorch models. Parameter names match :func:`sgdspectra.architecture.matrix_specs`."""

from __future__ import annotations

import math

import torch
from torch import nn

from .architecture import DATASET_SHAPES
from .config import ModelConfig

__all__ = ["MLP", "build_model"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


class MLP(nn.Module):
    """Fully connected network: ``layers.i`` are ``nn.Linear``, activation between them."""

    def __init__(
        self, widths: list[int], activation: str = "relu", bias: bool = True, init: str = "normal_fan_in"
    ) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError("an MLP needs at least an input and an output width")
        self.layers = nn.ModuleList(
            nn.Linear(a, b, bias=bias) for a, b in zip(widths[:-1], widths[1:])
        )
        self.act = _ACTIVATIONS[activation]()
        if init == "normal_fan_in":
            for layer in self.layers:
                # The paper's initialisation: W_ij ~ N(0, 1/fan_in); zero biases.
                nn.init.normal_(layer.weight, mean=0.0, std=1.0 / math.sqrt(layer.in_features))
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        elif init != "pytorch_default":
            raise ValueError(f"unknown init {init!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, d_in) -> (batch, d_out)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x


def build_model(cfg: ModelConfig, seed: int) -> nn.Module:
    """Build the network of ``cfg`` with weights drawn from ``seed`` (CPU, float32)."""
    if cfg.architecture != "mlp":
        raise ValueError(f"unknown architecture {cfg.architecture!r}")
    d_in, d_out = DATASET_SHAPES[cfg.data.name]
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return MLP([d_in, *cfg.hidden, d_out], cfg.activation, cfg.bias, cfg.init)
    finally:
        torch.random.set_rng_state(gen_state)
