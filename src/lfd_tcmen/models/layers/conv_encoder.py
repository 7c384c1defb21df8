"""A small strided CNN that maps an image stack to one code vector."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class ConvBlock(nn.Sequential):
    """3x3 conv (optionally strided) -> GroupNorm -> GELU. (B, Cin, H, W) -> (B, Cout, H/s, W/s).

    GroupNorm rather than BatchNorm: the statistics of one image do not depend on the rest of the
    batch, so a cycle pass over decoded (swapped) faces or a one-sample prediction behaves like
    training.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 4) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.GroupNorm(math.gcd(groups, out_channels), out_channels),
            nn.GELU(),
        )


class ConvEncoder(nn.Module):
    """Image stack -> code. (B, C, H, W) -> (B, out_dim).

    One stride-2 ``ConvBlock`` per entry of ``widths`` (so H shrinks by 2**len(widths)), an
    adaptive average pool to ``pool x pool`` (keeps coarse layout: where on the face something
    happens matters for both identity and action units), then a linear projection.
    """

    def __init__(self, in_channels: int, widths: Sequence[int], out_dim: int, pool: int = 2) -> None:
        super().__init__()
        blocks = []
        c = in_channels
        for w in widths:
            blocks.append(ConvBlock(c, w, stride=2))
            c = w
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.proj = nn.Linear(c * pool * pool, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(torch.flatten(self.pool(self.features(x)), 1))
