"""The input the published flow networks (STSTNet, OFF-ApexNet, HTNet) were designed for.

All three read one optical-flow image computed between the onset and the apex frame at 28x28
pixels, channels (u, v, optical strain). In our ``FeatureSet`` that is segment 0 of ``flows``;
when the store was built at another flow size we resample it here rather than change the
architectures, whose layer sizes assume 28x28.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

PEER_FLOW_SIZE = 28


def onset_apex_flow(flows: Tensor, size: int = PEER_FLOW_SIZE) -> Tensor:
    """flows: (B, K, 3, R, R) -> onset->apex flow (B, 3, size, size), channels (u, v, strain).

    Bilinear resampling (anti-aliased when shrinking) only when R != size.
    """
    if flows.ndim != 5 or flows.shape[2] != 3:
        raise ValueError(f"flows must be (B, K, 3, R, R), got {tuple(flows.shape)}")
    flow = flows[:, 0]
    if flow.shape[-2:] == (size, size):
        return flow
    shrink = flow.shape[-1] > size
    return F.interpolate(flow, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
