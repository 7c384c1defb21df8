"""Preprocessing: faces (detect, landmarks, align), key frames (apex spotting), optical flow
and strain, and the feature store built from them.

Building blocks live one per module: ``config`` (PreprocessConfig), ``face``, ``keyframes``,
``flow``; the per-clip pipeline and the store build on them.
"""

from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import (
    AlignedClip,
    FaceNotFoundError,
    align_clip,
    detect_face,
    face_landmarks,
    track_faces,
)
from lfd_tcmen.preprocess.flow import (
    compute_flow,
    export_uvs28,
    flow_features,
    optical_strain,
    segment_flows,
)
from lfd_tcmen.preprocess.keyframes import spot_apex, spot_interval

__all__ = [
    "AlignedClip",
    "FaceNotFoundError",
    "PreprocessConfig",
    "align_clip",
    "compute_flow",
    "detect_face",
    "export_uvs28",
    "face_landmarks",
    "flow_features",
    "optical_strain",
    "segment_flows",
    "spot_apex",
    "spot_interval",
    "track_faces",
]
