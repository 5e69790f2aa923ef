"""ViT-Tiny for the zoo: patch 16, embedding 192, depth 12, 3 heads, MLP ratio 4.

Attention is written out as ``MatMul → Mul(scale) → Softmax → MatMul`` (no
``nn.MultiheadAttention`` and no fused scaled-dot-product kernel), so the
export shows the ops a runtime really executes: ``MatMul``, ``Softmax``,
``LayerNormalization`` and GELU as ``Div/Erf/Add/Mul``. All reshapes use
sizes fixed at construction, so the graph has no ``Shape`` ops.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["HEADS", "PATCH", "embed_dim", "vit_tiny"]

PATCH = 16
HEADS = 3
_DEPTH = 12
_BASE_DIM = 192
_MLP_RATIO = 4
_NUM_CLASSES = 1000


def embed_dim(width: float) -> int:
    """``192 × width`` rounded to a multiple of ``8·HEADS`` = 24 (head dim a multiple of 8)."""
    step = 8 * HEADS
    return max(step, round(_BASE_DIM * width / step) * step)


class _Attention(nn.Module):
    """Multi-head self-attention over ``tokens`` tokens of ``dim`` channels."""

    def __init__(self, dim: int, tokens: int) -> None:
        super().__init__()
        self.tokens = tokens
        self.dim = dim
        self.head_dim = dim // HEADS
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x).reshape(-1, self.tokens, 3, HEADS, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (batch, heads, tokens, head_dim)
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(-1, self.tokens, self.dim)
        return self.proj(out)


class _Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``."""

    def __init__(self, dim: int, tokens: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, tokens)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(dim, _MLP_RATIO * dim), nn.GELU(), nn.Linear(_MLP_RATIO * dim, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT with a class token, learned position embeddings and a linear head.

    Args:
        dim: embedding width (a multiple of :data:`HEADS`).
        resolution: input side in pixels (a multiple of :data:`PATCH`).
    """

    def __init__(self, dim: int, resolution: int) -> None:
        super().__init__()
        patches = (resolution // PATCH) ** 2
        self.patches = patches
        self.dim = dim
        self.patch_embed = nn.Conv2d(3, dim, PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, patches + 1, dim))
        self.blocks = nn.Sequential(*(_Block(dim, patches + 1) for _ in range(_DEPTH)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, _NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).reshape(-1, self.dim, self.patches).transpose(1, 2)
        # batch 1 (what the zoo exports) concatenates the parameter as is, with no Expand
        cls = self.cls_token if x.shape[0] == 1 else self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def vit_tiny(width: float, resolution: int) -> VisionTransformer:
    """ViT-Tiny/16 with its embedding width scaled by ``width`` (see :func:`embed_dim`).

    Args:
        width: multiplier of the 192-wide embedding (heads stay 3, MLP stays 4×).
        resolution: input side in pixels, a multiple of 16.
    """
    return VisionTransformer(embed_dim(width), resolution)
