"""PreprocessConfig: every knob that changes the features written to the store.

The config is data: a frozen dataclass, saved as JSON next to the features and hashed
(``digest``) into the feature file names, so features made with different settings never mix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from lfd_tcmen.core.errors import LFDError

DETECTORS = ("dlib", "haar")
LANDMARK_SOURCES = ("auto", "detect", "file")
FLOW_METHODS = ("tvl1", "farneback", "dis")
KEY_FRAMES = ("onset", "mid", "apex", "offset")
RENDERS = ("aligned", "composite", "framed")
DEFAULT_SEGMENTS = ("onset:apex", "onset:mid", "mid:apex", "apex:offset")
# Settings added after stores were written: left out of ``to_dict`` (so of the digest and the
# manifest) while they hold these defaults, so the stores made before them keep their names.
_LATE_DEFAULTS = {"render": "aligned"}


@dataclass(frozen=True)
class PreprocessConfig:
    """How a clip becomes aligned faces and optical-flow features.

    face_size: side S of the aligned grey face crop, pixels.
    detector: face detector, "dlib" (HOG, falls back to Haar) or "haar" (OpenCV cascade only).
    landmarks: "auto" uses a clip's ``landmarks.npy`` when present and detects otherwise;
        "detect" always detects; "file" requires the file.
    flow_method: "tvl1" (Dual TV-L1, the field's standard), "farneback" or "dis".
    segments: flow segments "from:to" over the key frames onset, mid, apex, offset ("mid" is half
        way from onset to apex). Segment 0 must be "onset:apex"; the rest are the temporal
        complement.
    tvl1_*: Dual TV-L1 parameters (OpenCV names). OpenCV's defaults (5 scales, 5 warps,
        epsilon 0.01, 30 x 10 iterations) take ~4x longer for no better accuracy at micro-expression
        displacements: 3 scales and 2 warps recover known 0.3-2 px warps of noisy 128 x 128 faces
        to ~0.07 px mean endpoint error (tests/preprocess/test_flow.py, benchmarks/preprocess.py).
    strain_sigma: Gaussian sigma (pixels) applied to the flow before differentiating it for
        optical strain; 0 disables smoothing.
    render: how a frame becomes the S x S face the flow is computed on. "aligned" (default):
        one similarity transform from the onset face's landmarks onto a canonical crop.
        "composite": the frame as given, squeezed to S x S (INTER_AREA, aspect not kept), no
        detection, no alignment: how the MEGC2019 composite's ``flow_uvos_28`` images were made
        from CASME II's Cropped release (docs/design.md, "Flow agreement with the composite").
        Only for frames that are already face crops.
        "framed": "aligned"'s one transform from the onset's landmarks, but an affine from all
        68 onto ``face.FRAMING_TEMPLATE``, where faces lie in the composite's framing (the Cropped
        frames squeezed): the composite's geometry for any clip, a video's included. What a
        model trained on the composite gets in ``predict`` (docs/design.md, "Deploy path").
    """

    face_size: int = 128
    detector: str = "dlib"
    landmarks: str = "auto"
    flow_method: str = "tvl1"
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
    tvl1_tau: float = 0.25
    tvl1_lambda: float = 0.15
    tvl1_theta: float = 0.3
    tvl1_scales: int = 3
    tvl1_warps: int = 2
    tvl1_epsilon: float = 0.02
    tvl1_inner_iterations: int = 10
    tvl1_outer_iterations: int = 5
    strain_sigma: float = 1.0
    render: str = "aligned"

    def __post_init__(self) -> None:
        # JSON and YAML give lists; keep the dataclass hashable and canonical.
        if not isinstance(self.segments, tuple):
            object.__setattr__(self, "segments", tuple(self.segments))
        self.validate()

    def validate(self) -> None:
        """Raise LFDError naming the first bad setting."""
        if not isinstance(self.face_size, int) or self.face_size < 16:
            raise LFDError(f"face_size must be an integer >= 16, got {self.face_size!r}")
        _choice("detector", self.detector, DETECTORS)
        _choice("landmarks", self.landmarks, LANDMARK_SOURCES)
        _choice("flow_method", self.flow_method, FLOW_METHODS)
        _choice("render", self.render, RENDERS)
        if not self.segments or self.segments[0] != "onset:apex":
            raise LFDError(f"segments must start with 'onset:apex', got {list(self.segments)}")
        for seg in self.segments:
            parse_segment(seg)
        if len(set(self.segments)) != len(self.segments):
            raise LFDError(f"segments must be distinct, got {list(self.segments)}")
        if self.tvl1_scales < 1 or self.tvl1_warps < 1:
            raise LFDError("tvl1_scales and tvl1_warps must be >= 1")
        if self.tvl1_inner_iterations < 1 or self.tvl1_outer_iterations < 1:
            raise LFDError("tvl1_inner_iterations and tvl1_outer_iterations must be >= 1")
        if not self.tvl1_epsilon > 0:
            raise LFDError(f"tvl1_epsilon must be > 0, got {self.tvl1_epsilon}")
        if self.strain_sigma < 0:
            raise LFDError(f"strain_sigma must be >= 0, got {self.strain_sigma}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (segments as a list); late settings at their default left out."""
        out = asdict(self)
        out["segments"] = list(self.segments)
        for name, default in _LATE_DEFAULTS.items():
            if out[name] == default:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> PreprocessConfig:
        """Build from a mapping (YAML/JSON); unknown keys raise LFDError naming ``source``."""
        if not isinstance(data, dict):
            raise LFDError(f"preprocess config must be a mapping, got {type(data).__name__}", path=source)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LFDError(f"unknown preprocess setting(s) {unknown}; known: {sorted(known)}", path=source)
        try:
            return cls(**data)
        except LFDError as err:
            raise LFDError(err.message, path=source) from None
        except TypeError as err:
            raise LFDError(f"bad preprocess config: {err}", path=source) from None

    def digest(self, length: int = 10) -> str:
        """Short sha256 of the canonical JSON: equal configs give equal digests."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def parse_segment(segment: str) -> tuple[str, str]:
    """``"onset:apex"`` -> ``("onset", "apex")``; LFDError for anything else."""
    parts = segment.split(":") if isinstance(segment, str) else []
    if len(parts) != 2 or parts[0] not in KEY_FRAMES or parts[1] not in KEY_FRAMES or parts[0] == parts[1]:
        raise LFDError(
            f"bad flow segment {segment!r}: expected 'from:to' with two different key frames of {KEY_FRAMES}"
        )
    return parts[0], parts[1]


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise LFDError(f"{name} must be one of {list(allowed)}, got {value!r}")
