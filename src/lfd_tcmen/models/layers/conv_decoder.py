"""A small upsampling CNN that draws one grey image from a code vector."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lfd_tcmen.models.layers.conv_encoder import ConvBlock


class ConvDecoder(nn.Module):
    """Code -> grey image. (B, in_dim) -> (B, 1, size, size) in [0, 1].

    A linear layer lays the code out on a ``start x start`` grid with ``widths[0]`` channels; each
    stage is a ``ConvBlock`` followed by bilinear x2 upsampling, and a 3x3 conv + sigmoid gives
    the image. Convolving *before* upsampling runs every conv at the lower resolution (about 4x
    fewer multiply-adds than upsample-then-conv, for a slightly blurrier face), and bilinear
    upsampling avoids the checkerboard of transposed convolutions. If the doubled grid does not
    land exactly on ``size`` the last map is resized bilinearly.
    """

    def __init__(self, in_dim: int, widths: Sequence[int], size: int) -> None:
        super().__init__()
        self.size = size
        self.start = max(1, size // 2 ** len(widths))
        self.stem = nn.Linear(in_dim, widths[0] * self.start * self.start)
        self.stem_channels = widths[0]
        stages = []
        c = widths[0]
        for w in widths:
            up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            stages.append(nn.Sequential(ConvBlock(c, w), up))
            c = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, code: Tensor) -> Tensor:
        x = self.stem(code).view(code.shape[0], self.stem_channels, self.start, self.start)
        x = self.head(self.stages(F.gelu(x)))
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return torch.sigmoid(x)
