"""STSTNet: Shallow Triple Stream Three-dimensional CNN (Liong, Gan, See, Khor & Huang, FG 2019).

Input: the onset->apex optical-flow image, 28x28x3 = (u, v, optical strain). Three parallel
one-layer streams see the same 3-channel image with 3x3 kernels and 3, 5 and 8 filters; each is
conv -> ReLU -> BatchNorm -> 3x3/3 max-pool -> dropout (28 -> 10). The 16 maps are
concatenated, average-pooled 2x2 (10 -> 5) and one fully connected layer maps the 5*5*16 = 400
features to the classes. Layer order, padding (2 for the convs, 1 for the max-pool) and dropout
follow the authors' released PyTorch port (github.com/christy1206/STSTNet, main.py); training
defaults come from the same script. Sources and deviations: docs/peers.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lfd_tcmen.models.base import MERModel, parse_params
from lfd_tcmen.models.layers.peer_inputs import PEER_FLOW_SIZE, onset_apex_flow
from lfd_tcmen.models.layers.peer_streams import STREAM_WIDTHS, ShallowStream
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec


@dataclass(frozen=True)
class STSTNetParams:
    dropout: float = 0.5  # after each stream's pooling, as in the authors' code
    # The authors' script feeds the flow PNGs' raw 0-255 values; our flows are in [0, 1].
    input_scale: float = 255.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.input_scale <= 0:
            raise ValueError(f"input_scale must be > 0, got {self.input_scale}")


@register_model("ststnet")
class STSTNet(MERModel):
    """faces: ignored; flows: (B, K, 3, R, R) -> {"logits": (B, C), "motion_code": (B, 400)}."""

    # Authors' released training script: Adam, lr 5e-5, batch 256, 800 epochs, plain CE.
    default_train: ClassVar[dict[str, Any]] = {
        "epochs": 800,
        "lr": 5e-5,
        "batch_size": 256,
        "optimizer": "adam",
    }

    def __init__(self, spec: ModelSpec, **params: Any) -> None:
        super().__init__(spec)
        self.params = parse_params(STSTNetParams, params, "ststnet")
        self.streams = nn.ModuleList(ShallowStream(w, self.params.dropout) for w in STREAM_WIDTHS)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)  # 10 -> 5
        self.fc = nn.Linear(5 * 5 * sum(STREAM_WIDTHS), spec.num_classes)

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        x = onset_apex_flow(flows, PEER_FLOW_SIZE) * self.params.input_scale
        x = torch.cat([stream(x) for stream in self.streams], dim=1)  # (B, 16, 10, 10)
        features = torch.flatten(self.pool(x), 1)  # (B, 400)
        return {"logits": self.fc(features), "motion_code": features, "classifier_input": features}
