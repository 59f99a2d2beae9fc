"""PyTorch models and their construction from a config (MLP here; GPT and ViT in
:mod:`sgdspectra.transformer`; the CNN in :mod:`sgdspectra.cnn`).

Every model exposes ``weight_matrices()`` yielding ``(name, kind, 2-D tensor)`` with the names
and kinds of :func:`sgdspectra.architecture.matrix_layout`.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from .architecture import IMAGE_SHAPES
from .cnn import CNN, init_layers
from .config import ModelConfig
from .transformer import GPT, ViT

__all__ = ["CNN", "MLP", "build_model"]

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
        init_layers(self.layers, init)  # "normal_fan_in": W_ij ~ N(0, 1/fan_in), zero biases

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, d_in) -> (batch, d_out)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x

    def weight_matrices(self) -> Iterator[tuple[str, str, torch.Tensor]]:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            kind = "mlp_in" if i == 0 else ("mlp_out" if i == last else "mlp_hidden")
            yield f"layers.{i}", kind, layer.weight


def build_model(cfg: ModelConfig, seed: int, vocab_size: int | None = None) -> nn.Module:
    """Build the network of ``cfg`` with weights drawn from ``seed`` (CPU, float32).

    ``vocab_size`` is required for ``gpt`` (it comes from the corpus).
    """
    gen_state = torch.random.get_rng_state()
    tr = cfg.transformer
    try:
        torch.manual_seed(seed)
        if cfg.architecture == "mlp":
            side, channels, n_classes = IMAGE_SHAPES[cfg.data.name]
            return MLP([side * side * channels, *cfg.hidden, n_classes], cfg.activation, cfg.bias, cfg.init)
        if cfg.architecture == "gpt":
            if vocab_size is None:
                raise ValueError("a gpt needs the vocabulary size of its corpus")
            return GPT(vocab_size, tr.block_size, tr.n_layer, tr.n_head, tr.n_embd, tr.dropout, cfg.bias,
                       tr.tie_weights, tr.mlp_ratio, tr.split_heads)
        if cfg.architecture == "vit":
            side, channels, n_classes = IMAGE_SHAPES[cfg.data.name]
            return ViT(side, channels, tr.patch_size, n_classes, tr.n_layer, tr.n_head, tr.n_embd,
                       tr.mlp_ratio, tr.dropout, cfg.bias, tr.split_heads)
        if cfg.architecture == "cnn":
            side, channels, n_classes = IMAGE_SHAPES[cfg.data.name]
            c = cfg.cnn
            return CNN(side, channels, n_classes, c.channels, c.kernel_size, c.fc_hidden, cfg.bias, cfg.init)
        raise ValueError(f"unknown architecture {cfg.architecture!r}")
    finally:
        torch.random.set_rng_state(gen_state)
