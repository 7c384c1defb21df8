"""Gated fusion of two views of the same motion."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GatedFusion(nn.Module):
    """Per-channel convex mix of two (B, D) features: ``g * a + (1 - g) * b``, ``g = sigmoid(W [a, b])``.

    Returns (fused (B, D), g (B, D)). A convex gate (rather than concatenation) keeps the fused
    feature in the same space as its inputs, so the weight each view gets can be read off ``g``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        g = torch.sigmoid(self.gate(torch.cat([a, b], dim=-1)))
        return self.norm(g * a + (1.0 - g) * b), g
