"""Decoder-only GPT (character level) and a small ViT, with the weight matrices they expose.

Both use a fused query-key-value projection ``attn.qkv`` of shape (3C, C); the analysed matrices
split it into W_Q, W_K, W_V (rows 0:C, C:2C, 2C:3C), optionally further into per-head blocks.
Shapes in comments: B batch, T tokens, C width, H heads.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Block", "CausalSelfAttention", "GPT", "ViT", "qkv_blocks"]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a fused qkv projection; causal for the GPT."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool, causal: bool) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd {n_embd} is not divisible by n_head {n_head}")
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head, self.n_embd, self.causal = n_head, n_embd, causal
        self.dropout = dropout
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(self.n_embd, dim=2)  # each (B, T, C)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, H, T, C/H)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=self.causal
        )  # (B, H, T, C/H)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_drop(self.proj(y))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd: int, n_head: int, mlp_ratio: float, dropout: float, bias: bool, causal: bool) -> None:
        super().__init__()
        hidden = int(round(mlp_ratio * n_embd))
        self.ln1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias, causal)
        self.ln2 = nn.LayerNorm(n_embd, bias=bias)
        self.fc_in = nn.Linear(n_embd, hidden, bias=bias)
        self.fc_out = nn.Linear(hidden, n_embd, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        x = x + self.attn(self.ln1(x))
        return x + self.drop(self.fc_out(F.gelu(self.fc_in(self.ln2(x)))))


def qkv_blocks(qkv: torch.Tensor, n_head: int, split_heads: bool) -> Iterator[tuple[str, str, torch.Tensor]]:
    """Split a fused (3C, C) projection into (suffix, kind, matrix) for Q, K, V (and heads)."""
    c = qkv.shape[1]
    for j, letter in enumerate("qkv"):
        block = qkv[j * c : (j + 1) * c]  # (C, C): rows of the fused weight
        yield letter, f"attn_{letter}", block
        if split_heads:
            hd = c // n_head
            for h in range(n_head):
                yield f"{letter}.head{h}", f"attn_{letter}_head", block[h * hd : (h + 1) * hd]


def _block_matrices(blocks: nn.ModuleList, n_head: int, split_heads: bool) -> Iterator[tuple[str, str, torch.Tensor]]:
    for i, blk in enumerate(blocks):
        for suffix, kind, w in qkv_blocks(blk.attn.qkv.weight, n_head, split_heads):
            yield f"blocks.{i}.attn.{suffix}", kind, w
        yield f"blocks.{i}.attn.o", "attn_o", blk.attn.proj.weight
        yield f"blocks.{i}.mlp.fc_in", "mlp_in", blk.fc_in.weight
        yield f"blocks.{i}.mlp.fc_out", "mlp_out", blk.fc_out.weight


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


class GPT(nn.Module):
    """Character-level decoder-only transformer (nanoGPT-style, pre-norm, GELU MLP)."""

    def __init__(
        self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int,
        dropout: float = 0.0, bias: bool = True, tie_weights: bool = True, mlp_ratio: float = 4.0,
        split_heads: bool = False,
    ) -> None:
        super().__init__()
        self.block_size, self.n_head, self.split_heads, self.tie_weights = block_size, n_head, split_heads, tie_weights
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, mlp_ratio, dropout, bias, causal=True) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.apply(_init_weights)
        if tie_weights:
            self.head.weight = self.tok_emb.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) int64 -> logits (B, T, V)
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(f"sequence length {t} exceeds block_size {self.block_size}")
        pos = torch.arange(t, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))

    def weight_matrices(self) -> Iterator[tuple[str, str, torch.Tensor]]:
        """Every analysed matrix as (name, kind, 2-D tensor), fused qkv split into Q, K, V."""
        yield "tok_emb", "embed", self.tok_emb.weight
        yield "pos_emb", "pos_embed", self.pos_emb.weight
        yield from _block_matrices(self.blocks, self.n_head, self.split_heads)
        if not self.tie_weights:
            yield "head", "head", self.head.weight


class ViT(nn.Module):
    """Vision transformer: patch embedding, class token, pre-norm encoder blocks, linear head."""

    def __init__(
        self, image_size: int, channels: int, patch_size: int, n_classes: int, n_layer: int, n_head: int,
        n_embd: int, mlp_ratio: float = 2.0, dropout: float = 0.0, bias: bool = True, split_heads: bool = False,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not divisible by patch_size {patch_size}")
        self.image_size, self.channels, self.patch_size = image_size, channels, patch_size
        self.n_head, self.split_heads = n_head, split_heads
        n_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Linear(channels * patch_size * patch_size, n_embd, bias=bias)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, n_embd))
        self.pos_emb = nn.Parameter(torch.randn(n_patches + 1, n_embd) * 0.02)  # 2-D, analysed
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, mlp_ratio, dropout, bias, causal=False) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, n_classes, bias=bias)
        self.apply(_init_weights)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:  # (B, ch*H*W) or (B, ch, H, W) -> (B, N, ch*p*p)
        b = x.shape[0]
        p, s = self.patch_size, self.image_size
        x = x.reshape(b, self.channels, s // p, p, s // p, p)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(b, (s // p) ** 2, self.channels * p * p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # -> logits (B, n_classes)
        tokens = self.patch_embed(self.patchify(x))  # (B, N, C)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)  # (B, 1, C)
        h = self.drop(torch.cat([cls, tokens], dim=1) + self.pos_emb)  # (B, N+1, C)
        for blk in self.blocks:
            h = blk(h)
        return self.head(self.ln_f(h)[:, 0])

    def weight_matrices(self) -> Iterator[tuple[str, str, torch.Tensor]]:
        """Every analysed matrix as (name, kind, 2-D tensor), fused qkv split into Q, K, V."""
        yield "patch_embed", "embed", self.patch_embed.weight
        yield "pos_emb", "pos_embed", self.pos_emb
        yield from _block_matrices(self.blocks, self.n_head, self.split_heads)
        yield "head", "head", self.head.weight
