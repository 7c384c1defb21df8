"""LFD-TCMEN toys shared by its tests: the two input regimes, tiny widths, a batch, one pass."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.lfd_tcmen import LOSS_TERMS

FULL = ModelSpec(
    num_classes=3,
    num_subjects=5,
    face_frames=("onset", "apex", "offset"),
    flow_segments=("onset:apex", "onset:mid", "mid:apex", "apex:offset"),
    face_size=32,
    flow_size=16,
)
APEX_ONLY = ModelSpec(
    num_classes=3,
    num_subjects=5,
    face_frames=("apex",),
    flow_segments=("onset:apex",),
    face_size=32,
    flow_size=16,
)
# Small widths keep every test to a fraction of a second on 2 cores; every loss term on (the
# subject adversary and HSIC are off by default).
TINY = dict(
    identity_dim=8,
    motion_dim=8,
    flow_dim=16,
    face_width=4,
    flow_width=4,
    face_resolution=16,
    dropout=0.0,
    adversary_hidden=8,
    w_adversary=0.1,
    w_hsic=0.1,
    w_teacher=0.1,
    w_teacher_hsic=0.1,
)
ALL_OFF = {f"w_{t}": 0.0 for t in LOSS_TERMS}


def build(spec: ModelSpec = FULL, seed: int = 0, **params):
    torch.manual_seed(seed)
    return create_model("lfd_tcmen", spec, **{**TINY, **params})


def make_batch(spec: ModelSpec, b: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s, r = spec.face_size, spec.flow_size
    return {
        # Smooth random "faces" (4x4 noise upsampled): structure a decoder can learn to redraw.
        "faces": F.interpolate(
            torch.rand(b, spec.num_frames, 4, 4, generator=g), size=(s, s), mode="bilinear"
        ),
        "flows": torch.rand(b, spec.num_segments, 3, r, r, generator=g),
        "labels": torch.arange(b) % spec.num_classes,
        "subjects": torch.tensor([0, 1, 2, 3, 4, -1] * (b // 6 + 1))[:b],
        # identity descriptors (dlib's are 128-d, about unit length): one per subject, as a
        # descriptor names a person
        "teacher": F.normalize(torch.randn(6, 128, generator=g), dim=1)[torch.arange(b) % 6],
    }


def run(model, batch):
    out = model(batch["faces"], batch["flows"])
    total, terms = model.loss(out, batch)
    return out, total, terms
