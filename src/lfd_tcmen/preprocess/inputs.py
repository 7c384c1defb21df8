"""``model_inputs``: the one transform from a stored clip to a model's inputs, shared by training
(through ``load_feature_set``) and prediction."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from lfd_tcmen.config.experiment import FLOW_NORMS
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.flow import export_uvs28
from lfd_tcmen.preprocess.pipeline import ClipFeatures


def model_inputs(
    clip_features: ClipFeatures | Mapping[str, np.ndarray],
    face_size: int = 64,
    flow_size: int = 28,
    flow_norm: str = "minmax",
) -> tuple[np.ndarray, np.ndarray]:
    """Store entry -> what a model eats (training and prediction both go through here).

    clip_features: a ClipFeatures or a mapping with "faces" (F, S, S) uint8 and "flows"
        (K, 3, S, S) pixels.
    Returns faces (F, face_size, face_size) float32 in [0, 1] (area-resized) and flows
    (K, 3, flow_size, flow_size) float32: with "minmax" each segment's channels are area-resized
    and min-max normalised to [0, 1] (the peers' uvs28 format, ``flow.export_uvs28``); with
    "none" they are only resized (pixels of the stored face size).
    """
    if flow_norm not in FLOW_NORMS:
        raise LFDError(f"flow_norm must be one of {list(FLOW_NORMS)}, got {flow_norm!r}")
    if isinstance(clip_features, ClipFeatures):
        faces_in, flows_in = clip_features.faces, clip_features.flows
    else:
        faces_in, flows_in = clip_features["faces"], clip_features["flows"]
    faces = np.stack([_resize(f, face_size) for f in faces_in]).astype(np.float32) / 255.0
    flows = np.empty((len(flows_in), 3, flow_size, flow_size), dtype=np.float32)
    for k, segment in enumerate(flows_in):
        segment = segment.astype(np.float32)
        if flow_norm == "minmax":
            flows[k] = export_uvs28(segment, size=flow_size)
        else:
            flows[k] = np.stack([_resize(c, flow_size) for c in segment])
    return faces, flows


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape == (size, size):
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------------------- preparing a dataset
