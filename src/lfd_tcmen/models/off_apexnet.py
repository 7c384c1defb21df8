"""OFF-ApexNet: Optical Flow Features from Apex frame Network (Gan, Liong, Yau, Huang & Tan, 2019).

Signal Processing: Image Communication 74 (2019) 129-139. Input: the horizontal (u) and vertical
(v) optical flow between the onset and the apex frame, each a 28x28 image. Each component has
its own stream, LeNet-like: 5x5 conv (6 filters, same padding) -> ReLU -> 2x2 max-pool ->
5x5 conv (16 filters) -> ReLU -> 2x2 max-pool, giving 7x7x16 = 784 features per stream. The two
are concatenated (1568) and pass two fully connected layers of 1024 units (ReLU, dropout) and a
softmax layer. Optical strain is not used. Sources and deviations: docs/peers.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lfd_tcmen.models.base import MERModel, parse_params
from lfd_tcmen.models.layers.peer_inputs import PEER_FLOW_SIZE, onset_apex_flow
from lfd_tcmen.models.layers.peer_streams import FlowComponentStream
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec


@dataclass(frozen=True)
class OffApexNetParams:
    hidden: int = 1024  # units of each of the two fully connected layers
    dropout: float = 0.5  # after each fully connected layer
    input_scale: float = 1.0  # multiplies the [0, 1] flows (the paper does not state a scale)

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.input_scale <= 0:
            raise ValueError(f"input_scale must be > 0, got {self.input_scale}")


@register_model("off_apexnet")
class OffApexNet(MERModel):
    """faces: ignored; flows: (B, K, 3, R, R) -> {"logits": (B, C), "motion_code": (B, hidden)}."""

    # Adam, lr 1e-4, 3000 epochs as we recall the paper (not verified against its text in this
    # offline build); batch size not given (ours: 256, as the same group's STSTNet script uses).
    # Provenance of each value: docs/peers.md.
    default_train: ClassVar[dict[str, Any]] = {
        "epochs": 3000,
        "lr": 1e-4,
        "batch_size": 256,
        "optimizer": "adam",
    }

    def __init__(self, spec: ModelSpec, **params: Any) -> None:
        super().__init__(spec)
        p = self.params = parse_params(OffApexNetParams, params, "off_apexnet")
        self.u_stream = FlowComponentStream()
        self.v_stream = FlowComponentStream()
        self.fc = nn.Sequential(
            nn.Linear(2 * 16 * 7 * 7, p.hidden),
            nn.ReLU(),
            nn.Dropout(p.dropout),
            nn.Linear(p.hidden, p.hidden),
            nn.ReLU(),
            nn.Dropout(p.dropout),
        )
        self.classifier = nn.Linear(p.hidden, spec.num_classes)

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        flow = onset_apex_flow(flows, PEER_FLOW_SIZE) * self.params.input_scale
        x = torch.cat([self.u_stream(flow[:, 0:1]), self.v_stream(flow[:, 1:2])], dim=1)  # (B, 1568)
        features = self.fc(x)
        return {"logits": self.classifier(features), "motion_code": features, "classifier_input": features}
