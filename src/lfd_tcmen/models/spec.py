"""ModelSpec: the data contract between features and models (shapes and label spaces).

It lives in its own module because the base class, the registry's factory and every model
need it, and none of them should have to import the others to get it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from lfd_tcmen.data.features import FeatureSet


@dataclass(frozen=True)
class ModelSpec:
    """What a model must know about its data before it is built (shapes and label spaces).

    num_classes: emotion classes C (logits are (B, C)).
    num_subjects: training subjects of the fold; size of the identity head (may be 0: no head).
    face_frames: names of the F face frames, ("onset", "apex", "offset") or ("apex",).
    flow_segments: names of the K flow segments; segment 0 is always "onset:apex".
    face_size: S, faces are (B, F, S, S).
    flow_size: R, flows are (B, K, 3, R, R).
    """

    num_classes: int
    num_subjects: int
    face_frames: tuple[str, ...]
    flow_segments: tuple[str, ...]
    face_size: int
    flow_size: int

    def __post_init__(self) -> None:
        # YAML and checkpoints hand us lists; tuples keep the spec hashable and comparable.
        object.__setattr__(self, "face_frames", tuple(self.face_frames))
        object.__setattr__(self, "flow_segments", tuple(self.flow_segments))
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        if self.num_subjects < 0:
            raise ValueError(f"num_subjects must be >= 0, got {self.num_subjects}")
        if not self.face_frames or not self.flow_segments:
            raise ValueError("face_frames and flow_segments must not be empty")

    @property
    def num_frames(self) -> int:
        return len(self.face_frames)

    @property
    def num_segments(self) -> int:
        return len(self.flow_segments)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, ints): safe for ``torch.load(weights_only=True)`` and JSON."""
        d = asdict(self)
        d["face_frames"] = list(self.face_frames)
        d["flow_segments"] = list(self.flow_segments)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_feature_set(cls, features: FeatureSet, num_subjects: int) -> ModelSpec:
        """Spec for training on ``features``; ``num_subjects`` = the fold's training subjects."""
        return cls(
            num_classes=features.num_classes,
            num_subjects=num_subjects,
            face_frames=tuple(features.face_frames),
            flow_segments=tuple(features.flow_segments),
            face_size=int(features.faces.shape[-1]),
            flow_size=int(features.flows.shape[-1]),
        )
