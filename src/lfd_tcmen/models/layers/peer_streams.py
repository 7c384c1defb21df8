"""The published flow networks' feature streams, shared by the peers and LFD-TCMEN's backbones.

``FlowComponentStream`` is one of OFF-ApexNet's two streams (models/off_apexnet.py);
``ShallowStream`` one of STSTNet's three (models/ststnet.py). Their provenance is in those
modules' docstrings and docs/peers.md.
"""

from __future__ import annotations

from torch import nn

STREAM_WIDTHS = (3, 5, 8)  # STSTNet's three streams


class FlowComponentStream(nn.Sequential):
    """One flow component: (B, 1, 28, 28) -> (B, 784)."""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(6, 16, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(),
        )


class ShallowStream(nn.Sequential):
    """One stream: (B, 3, 28, 28) -> (B, width, 10, 10)."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__(
            nn.Conv2d(3, width, kernel_size=3, padding=2),  # 28 -> 30
            nn.ReLU(),
            nn.BatchNorm2d(width),
            nn.MaxPool2d(kernel_size=3, stride=3, padding=1),  # 30 -> 10
            nn.Dropout(dropout),
        )
