"""FeatureSet: the arrays every model trains on, whichever way they were made.

Two regimes feed it:
- full clips, through the feature store written by ``lfd-tcmen prepare`` (onset, apex and
  offset faces; onset->apex flow plus K-1 temporal complement flows);
- pre-computed features only (the MEGC2019 composite: one apex face and one flow image).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FACE_FRAMES_FULL = ("onset", "apex", "offset")
DESCRIPTOR_DIM = 128  # an identity descriptor: dlib's face-recognition embedding (preprocess/identity.py)


@dataclass
class FeatureSet:
    """Samples as arrays; row ``i`` of every array is sample ``sample_ids[i]``.

    faces: (N, F, S, S) float32 in [0, 1], grey faces; F = len(face_frames)
        ("onset", "apex", "offset") for full clips, ("apex",) for the composite.
    flows: (N, K, 3, R, R) float32; channels (u, v, optical strain); segment 0 is onset->apex,
        segments 1.. are the temporal complement named in ``flow_segments``. Values are
        min-max normalised per sample and channel to [0, 1] when ``flow_normalised``.
    labels: (N,) int64 class index under ``protocol``.
    identity: (N, DESCRIPTOR_DIM) float32 or None: dlib's face-recognition descriptor of each sample's
        reference face (onset, else apex), attached only for a model that learns from it
        (``runs.features.with_identity``; LFD-TCMEN's identity teacher).
    """

    sample_ids: list[str]
    datasets: list[str]
    subjects: list[str]  # qualified by dataset: "casme2/sub01"
    labels: np.ndarray
    class_names: tuple[str, ...]
    faces: np.ndarray
    face_frames: tuple[str, ...]
    flows: np.ndarray
    flow_segments: tuple[str, ...]
    protocol: str = ""
    flow_normalised: bool = True
    meta: dict[str, object] = field(default_factory=dict)
    identity: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.sample_ids)
        for name in ("datasets", "subjects"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"FeatureSet.{name} has {len(getattr(self, name))} rows, expected {n}")
        for name in ("labels", "faces", "flows"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"FeatureSet.{name} has {getattr(self, name).shape[0]} rows, expected {n}")
        if self.faces.ndim != 4 or self.faces.shape[1] != len(self.face_frames):
            raise ValueError(f"faces must be (N, {len(self.face_frames)}, S, S), got {self.faces.shape}")
        if self.identity is not None and self.identity.shape[0] != n:
            raise ValueError(f"FeatureSet.identity has {self.identity.shape[0]} rows, expected {n}")
        if self.flows.ndim != 5 or self.flows.shape[1:3] != (len(self.flow_segments), 3):
            raise ValueError(f"flows must be (N, {len(self.flow_segments)}, 3, R, R), got {self.flows.shape}")

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, index: np.ndarray | list[int] | tuple[int, ...]) -> FeatureSet:
        idx = np.asarray(index, dtype=np.int64)
        return FeatureSet(
            sample_ids=[self.sample_ids[i] for i in idx],
            datasets=[self.datasets[i] for i in idx],
            subjects=[self.subjects[i] for i in idx],
            labels=self.labels[idx],
            class_names=self.class_names,
            faces=self.faces[idx],
            face_frames=self.face_frames,
            flows=self.flows[idx],
            flow_segments=self.flow_segments,
            protocol=self.protocol,
            flow_normalised=self.flow_normalised,
            meta=dict(self.meta),
            identity=None if self.identity is None else self.identity[idx],
        )


def mirror(faces: np.ndarray, flows: np.ndarray, flow_normalised: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mirror images of faces (B, F, S, S) and flows (B, K, 3, R, R): left and right swap, so the
    horizontal flow u changes sign (u -> 1 - u for flows min-max normalised to [0, 1])."""
    faces = faces[..., ::-1].copy()
    flows = flows[..., ::-1].copy()
    flows[:, :, 0] = 1.0 - flows[:, :, 0] if flow_normalised else -flows[:, :, 0]
    return faces, flows
