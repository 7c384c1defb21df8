"""One clip -> its features: aligned key-frame faces and per-segment optical flow.

    frames (T, H, W) --align_clip--> faces (T', S, S) onset..offset, one transform
        (render "composite": --squeeze_clip--> the frames as given, squeezed to S x S;
         render "framed": one affine onto the composite's framing instead)
        --spot_apex (when the annotation has no apex)--> apex
        --segment_flows--> flows (K, 3, S, S): (u, v, strain) per segment, raw pixels

``process_sample`` does this for a dataset ``Sample``: it maps the coding sheet's frame numbers to
positions, reads only the frames from onset to offset, and uses the clip's ``landmarks.npy``
(one (68, 2) row per frame, in frame-number order) when the config allows and the file exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.loaders.common import numbered_images
from lfd_tcmen.data.record import Sample
from lfd_tcmen.preprocess import face, flow, keyframes
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.io import read_frames

FACE_FRAMES = ("onset", "apex", "offset")
LANDMARKS_FILE = "landmarks.npy"
MIN_FRAMES = 3  # onset, apex, offset


@dataclass(frozen=True)
class ClipFeatures:
    """What the store keeps for one clip.

    faces: (3, S, S) uint8, the aligned onset, apex and offset faces.
    flows: (K, 3, S, S) float32, per ``segments`` entry the (u, v, optical strain) of the flow
        between its two key frames, in pixels of the aligned face (segment 0 = onset->apex).
    onset_idx, apex_idx, offset_idx: positions of the key frames in the frames given to
        ``extract_clip_features`` (for ``process_sample``: in ``Sample.frames``).
    apex_source: "annotation" or "spotted" (the apex was found by ``keyframes.spot_apex``).
    """

    faces: np.ndarray
    flows: np.ndarray
    onset_idx: int
    apex_idx: int
    offset_idx: int
    apex_source: str
    segments: tuple[str, ...]


def extract_clip_features(
    frames: Sequence[np.ndarray],
    onset_idx: int,
    apex_idx: int | None,
    offset_idx: int,
    config: PreprocessConfig,
    landmarks: np.ndarray | None = None,
    source: str | Path | None = None,
) -> ClipFeatures:
    """Align ``frames[onset_idx..offset_idx]`` (or squeeze them: ``config.render``) and compute
    the clip's key faces and flows.

    frames: T grey (H, W) uint8 images. landmarks: (T, 68, 2) float32 pixels, one row per entry
        of ``frames`` (None: detect on the onset frame). apex_idx None: spot it.
    source: the clip's path, named in errors.
    Raises LFDError (``face.FaceNotFoundError`` when no face is found on the onset frame).

    Seven parameters: one clip (frames, its three key-frame indices, landmarks, source path) and the
    settings.
    """
    n = len(frames)
    if not 0 <= onset_idx <= offset_idx < n:
        raise LFDError(
            f"bad key frames: onset {onset_idx}, offset {offset_idx} for a clip of {n} frames", source
        )
    if apex_idx is not None and not onset_idx <= apex_idx <= offset_idx:
        raise LFDError(f"apex {apex_idx} lies outside onset..offset ({onset_idx}..{offset_idx})", source)
    if landmarks is not None and len(landmarks) != n:
        raise LFDError(f"landmarks have {len(landmarks)} rows for {n} frames", source)
    window = list(frames[onset_idx : offset_idx + 1])
    window_marks = None if landmarks is None else np.asarray(landmarks[onset_idx : offset_idx + 1])
    if config.render == "composite":  # the frames are face crops: squeezed, not aligned
        faces = face.squeeze_clip(window, config.face_size, source=source)
    else:
        aligned = face.align_clip(
            window, window_marks, config.face_size, config.detector, source=source, render=config.render
        )
        faces = aligned.frames
    apex_rel = None if apex_idx is None else apex_idx - onset_idx
    feats = features_from_aligned(faces, apex_rel, config)
    return replace(
        feats,
        onset_idx=onset_idx,
        apex_idx=onset_idx + feats.apex_idx,
        offset_idx=offset_idx,
    )


def features_from_aligned(
    aligned: np.ndarray, apex_idx: int | None, config: PreprocessConfig
) -> ClipFeatures:
    """Key faces and segment flows of an aligned clip that runs from onset (0) to offset (T-1).

    aligned: (T, S, S) uint8 faces, one alignment transform for all. apex_idx: position in
    ``aligned``, or None to spot it (``keyframes.spot_apex``; apex_source "spotted").
    """
    last = len(aligned) - 1
    if apex_idx is None:
        apex_idx = int(keyframes.spot_apex(aligned, 0, last))
        apex_source = "spotted"
    else:
        apex_source = "annotation"
    keys = flow.key_frame_indices(0, apex_idx, last)
    flows = flow.segment_flows(aligned, keys, config.segments, method=config.flow_method, config=config)
    faces = np.stack([aligned[keys[name]] for name in FACE_FRAMES]).astype(np.uint8)
    return ClipFeatures(
        faces=faces,
        flows=flows.astype(np.float32),
        onset_idx=0,
        apex_idx=apex_idx,
        offset_idx=last,
        apex_source=apex_source,
        segments=tuple(config.segments),
    )


def sample_key_positions(sample: Sample) -> tuple[int, int | None, int]:
    """(onset, apex or None, offset) positions in ``sample.frames`` from its frame numbers.

    A missing onset/offset means the clip's first/last frame (SMIC-style annotations).
    """
    if not sample.frames:
        raise LFDError(
            f"{sample.sample_id}: no frames (a features-only sample cannot be prepared)",
            sample.source or None,
        )
    if len(sample.frame_numbers) != len(sample.frames):
        raise LFDError(
            f"{sample.sample_id}: {len(sample.frames)} frames but {len(sample.frame_numbers)} frame numbers"
        )
    onset = 0 if sample.onset is None else sample.frame_index(sample.onset)
    offset = len(sample.frames) - 1 if sample.offset is None else sample.frame_index(sample.offset)
    apex = None if sample.apex is None else sample.frame_index(sample.apex)
    if offset < onset:
        raise LFDError(
            f"{sample.sample_id}: offset frame {sample.offset} precedes onset {sample.onset}",
            sample.source or None,
        )
    if apex is not None and not onset <= apex <= offset:
        apex = None  # an apex outside the interval is an annotation error: spot it instead
    return onset, apex, offset


def clip_landmarks(sample: Sample, config: PreprocessConfig) -> np.ndarray | None:
    """The (T, 68, 2) landmarks of ``sample.frames`` from ``landmarks.npy`` beside them, if used.

    Used when ``config.landmarks`` is "auto" (and the file exists) or "file" (then required).
    The file holds one row per frame in frame-number order: either per frame of the sample, or
    per numbered image of the clip folder (then the sample's frame numbers pick the rows).
    """
    if config.landmarks == "detect" or not sample.frames:
        return None
    folder = Path(sample.frames[0]).parent
    path = folder / LANDMARKS_FILE
    if not path.is_file():
        if config.landmarks == "file":
            raise LFDError("landmarks file not found (preprocess setting landmarks: file)", path)
        return None
    try:
        marks = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise LFDError(f"cannot read landmarks: {err}", path) from None
    if marks.ndim != 3 or marks.shape[1:] != (68, 2):
        raise LFDError(f"landmarks must be (T, 68, 2), got {marks.shape}", path)
    if len(marks) == len(sample.frames):
        return marks.astype(np.float32)
    numbers = [n for n, _ in numbered_images(folder)]
    if len(marks) == len(numbers) and set(sample.frame_numbers) <= set(numbers):
        return marks[[numbers.index(n) for n in sample.frame_numbers]].astype(np.float32)
    raise LFDError(
        f"landmarks have {len(marks)} rows, but the sample has {len(sample.frames)} frames "
        f"and the folder {len(numbers)} images",
        path,
    )


def check_clip_folder(sample: Sample, window: int) -> None:
    """Refuse, naming the clip folder, a sample whose folder is missing (rather than its first
    frame under a guessed name) or whose onset..offset holds fewer than 3 frames (onset, apex and
    offset must be frames of their own: a 1- or 2-frame clip has no motion to measure)."""
    folder = Path(sample.frames[0]).parent
    row = f" (named in {sample.source})" if sample.source else ""
    if not folder.is_dir():
        raise LFDError(f"clip folder not found{row}", folder)
    if window < MIN_FRAMES:
        raise LFDError(
            f"the clip has fewer than {MIN_FRAMES} frames from onset to offset ({window}){row}", folder
        )


def process_sample(sample: Sample, config: PreprocessConfig) -> ClipFeatures:
    """Read one sample's frames onset..offset and extract its features.

    Returned indices are positions in ``sample.frames``; map them back to dataset frame numbers
    with ``sample.frame_numbers``. Raises LFDError naming the bad file (missing or corrupt frame)
    or the clip folder (missing, fewer than 3 frames, no face found).
    """
    onset, apex, offset = sample_key_positions(sample)
    check_clip_folder(sample, offset - onset + 1)
    marks = None if config.render == "composite" else clip_landmarks(sample, config)
    window = read_frames(sample.frames[onset : offset + 1])
    feats = extract_clip_features(
        window,
        0,
        None if apex is None else apex - onset,
        offset - onset,
        config,
        None if marks is None else marks[onset : offset + 1],
        source=Path(sample.frames[onset]).parent,
    )
    return replace(feats, onset_idx=onset, apex_idx=onset + feats.apex_idx, offset_idx=offset)
