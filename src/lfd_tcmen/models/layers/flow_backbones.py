"""Flow encoders LFD-TCMEN's TCME can be built on: one flow image (N, 3, R, R) -> (N, out_dim).

``model.params.backbone`` names one (docs/design.md, "Backbones"):
- ``own``: the strided ConvEncoder every earlier LFD-TCMEN row used (u, v and strain together);
- ``off_apexnet``: OFF-ApexNet's two LeNet-like streams (u and v apart, 28x28) and its two fully
  connected layers, then a linear map to ``out_dim``;
- ``ststnet``: STSTNet's three shallow streams (3, 5 and 8 filters over u, v and strain), its
  pooling, then a linear map to ``out_dim``;
- ``resnet``: a small residual network (a stem and three stages of two 3x3 convolutions with an
  identity or 1x1 shortcut, GroupNorm), global average pooling, a linear map.
The peers' streams are the very layers their own models use (``peer_streams``), so "backbone
alone" (the peer's row) and "backbone + DRL + TCME" differ only by what the paper adds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lfd_tcmen.models.layers.conv_encoder import ConvEncoder
from lfd_tcmen.models.layers.peer_inputs import PEER_FLOW_SIZE
from lfd_tcmen.models.layers.peer_streams import STREAM_WIDTHS, FlowComponentStream, ShallowStream

BACKBONES = ("own", "off_apexnet", "ststnet", "resnet")


def _peer_size(x: Tensor) -> Tensor:
    """(N, 3, R, R) -> (N, 3, 28, 28): the size the peers' layers were designed for."""
    if x.shape[-1] == PEER_FLOW_SIZE:
        return x
    shrink = x.shape[-1] > PEER_FLOW_SIZE  # anti-aliased when shrinking, as the peers' inputs
    size = (PEER_FLOW_SIZE, PEER_FLOW_SIZE)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


class OffApexNetBackbone(nn.Module):
    """OFF-ApexNet's u and v streams and fully connected layers -> (N, out_dim)."""

    def __init__(self, out_dim: int, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        self.u_stream = FlowComponentStream()
        self.v_stream = FlowComponentStream()
        self.fc = nn.Sequential(
            nn.Linear(2 * 16 * 7 * 7, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.proj = nn.Linear(hidden, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = _peer_size(x)
        return self.proj(self.fc(torch.cat([self.u_stream(x[:, 0:1]), self.v_stream(x[:, 1:2])], dim=1)))


class STSTNetBackbone(nn.Module):
    """STSTNet's three shallow streams and pooling -> (N, out_dim). ``input_scale`` 255 as the
    STSTNet row: the authors' script feeds 0-255 values."""

    def __init__(self, out_dim: int, dropout: float = 0.5, input_scale: float = 255.0) -> None:
        super().__init__()
        self.input_scale = input_scale
        self.streams = nn.ModuleList(ShallowStream(w, dropout) for w in STREAM_WIDTHS)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)  # 10 -> 5
        self.proj = nn.Linear(5 * 5 * sum(STREAM_WIDTHS), out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = _peer_size(x) * self.input_scale
        x = torch.cat([stream(x) for stream in self.streams], dim=1)
        return self.proj(torch.flatten(self.pool(x), 1))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with GroupNorm and GELU, plus a shortcut (1x1 strided conv when the shape
    changes). (N, Cin, H, W) -> (N, Cout, H/s, W/s)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        groups = math.gcd(4, out_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        y = F.gelu(self.norm1(self.conv1(x)))
        return F.gelu(self.norm2(self.conv2(y)) + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """Stem (3x3 conv, width[0]) and one residual block per width (the first at stride 1, the
    rest at stride 2), global average pooling, linear -> (N, out_dim)."""

    def __init__(self, in_channels: int, widths: Sequence[int], out_dim: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        blocks = []
        c = widths[0]
        for i, w in enumerate(widths):
            blocks.append(ResidualBlock(c, w, stride=1 if i == 0 else 2))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.proj = nn.Linear(c, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def flow_backbone(name: str, widths: Sequence[int], out_dim: int) -> nn.Module:
    """The flow encoder called ``name`` (one of ``BACKBONES``): (N, 3, R, R) -> (N, out_dim).
    ``widths`` are the conv widths of ``own`` and ``resnet``; the peers keep their own."""
    if name == "own":
        return ConvEncoder(3, widths, out_dim)
    if name == "off_apexnet":
        return OffApexNetBackbone(out_dim)
    if name == "ststnet":
        return STSTNetBackbone(out_dim)
    if name == "resnet":
        return ResNetBackbone(3, widths, out_dim)
    raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {name!r}")
