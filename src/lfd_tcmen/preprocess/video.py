"""A raw face video -> the features of its most likely micro-expression, ready for ``predict``.

    stream the frames -> track faces (on frames downscaled to ``detect_max_side``)
      -> face frames: tracked frames, minus runs shorter than ``min_face_run`` (a real face does
         not flash for a frame or two; isolated detections are false positives)
      -> spot the interval on the longest run of face frames (box crops, 64 x 64): the contrast
         score streamed over the run (boxes median-filtered over half a window), then the
         window around its peak read back and refined (one box for the window: its median)
      -> no micro-expression when the peak local motion is below ``min_motion`` (a still face) or
         at or above ``max_motion`` (a macro movement or an occlusion: a hand over the face)
      -> landmarks on the onset frame, ONE similarity transform for onset..offset (align_clip;
         render "framed": one affine onto the composite's framing)
      -> the store's features (``features_from_aligned``, apex_source "spotted")

Written to OUT: ``clip.json`` (the returned dict), ``features.npz`` (a feature-store entry) and
``faces/frame_<index>.png`` (the aligned crops of onset..offset, index = video frame index).
Frames without a face are listed by omission: ``face_frames`` holds the indices of the frames
with one, nothing is filled in. Memory does not grow with the video's length beyond a few bytes
of box per frame: frames are decoded again for each pass rather than kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.record import Sample
from lfd_tcmen.preprocess import face, keyframes
from lfd_tcmen.preprocess.clip_file import sample_meta, save_clip_features
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import Box
from lfd_tcmen.preprocess.io import VideoReader
from lfd_tcmen.preprocess.pipeline import features_from_aligned

CLIP_JSON = "clip.json"
FEATURES = "features.npz"
FACES_DIR = "faces"
_SPOT_SIZE = 64  # keyframes compares faces at 64 x 64
_DEFAULT_FPS = 30.0  # when the container does not say


def face_runs(boxes: Sequence[object | None], min_run: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) index runs of consecutive non-None boxes at least ``min_run`` long."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, box in enumerate([*boxes, None]):
        if box is not None and start is None:
            start = i
        elif box is None and start is not None:
            if i - start >= min_run:
                runs.append((start, i - 1))
            start = None
    return runs


def track_video_faces(
    frames: Iterable[np.ndarray],
    detector: str,
    detect_max_side: int = 640,
    every: int = 2,
    bar: Any = None,
) -> list[Box | None]:
    """Face box per frame of a streamed video, in full-frame pixels; None where no face is found.

    As ``face.track_faces`` (detection on every ``every``-th frame and the last, smoothed and
    interpolated between found faces) on frames downscaled to ``detect_max_side``, plus a
    detection on each frame next to a face whose box is unknown (with ``every`` > 1 a run's true
    edge may hide there). One pass; holds at most ``every`` frames.
    """
    found: dict[int, Box | None] = {}  # key frames
    refined: dict[int, Box | None] = {}  # frames next to a run's edge
    pending: list[tuple[int, np.ndarray]] = []  # downscaled frames since the last key
    scale, size, last = 1.0, (0, 0), -1

    def settle(key: int) -> None:
        """Detections between the previous key and ``key`` once both are known."""
        previous = max((k for k in found if k < key), default=None)
        if previous is not None:
            edge = None
            if found[previous] is not None and found[key] is None:
                edge = previous + 1
            elif found[previous] is None and found[key] is not None:
                edge = key - 1
            for i, small in pending:
                if i == edge and previous < i < key:
                    refined[i] = face.detect_face(small, detector=detector)
        pending.clear()

    for last, frame in enumerate(frames):
        if last == 0:
            size = (frame.shape[1], frame.shape[0])
            scale = min(1.0, detect_max_side / max(size))
        small = (
            frame
            if scale >= 1.0
            else cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        if last % every == 0:
            found[last] = face.detect_face(small, detector=detector)
            settle(last)
        else:
            pending.append((last, small))
        if bar is not None:
            bar.update(1)
    if last < 0:
        return []
    if last not in found:  # the last frame is always a key
        tail = pending.pop()
        found[last] = face.detect_face(tail[1], detector=detector)
        settle(last)
    boxes = face.boxes_from_keys(found, last + 1)
    for i, box in refined.items():
        boxes[i] = box
    w, h = size
    out: list[Box | None] = []
    for box in boxes:
        if box is None:
            out.append(None)
            continue
        x0, y0, x1, y1 = (v / scale for v in box)
        out.append((max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))))
    return out


def _median_box(boxes: Sequence[Box]) -> Box:
    x0, y0, x1, y1 = (int(v) for v in np.median(np.asarray(boxes), axis=0).round())
    return x0, y0, x1, y1


def steady_boxes(boxes: Sequence[Box], k: int) -> list[Box]:
    """Each box replaced by the median of the boxes within ``k`` frames of it (one run of faces).

    The detector's box jumps between nearby candidates from frame to frame (HOG's scales, the
    Haar fallback) even on a still face; cropped as they are, those jumps are motion larger than
    a micro-expression's (benchmarks/still_motion.py). A median over half a spotting window
    removes jumps shorter than that and follows the head's slower movement.
    """
    return [_median_box(boxes[max(0, i - k) : i + k + 1]) for i in range(len(boxes))]


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.resize(frame[y0:y1, x0:x1], (_SPOT_SIZE, _SPOT_SIZE), interpolation=cv2.INTER_AREA)


# A spotted interval's outcome, by its peak motion (``motion_outcome``)
STILL, MICRO, MACRO = "still", "micro-expression", "macro"


def motion_outcome(peak_motion: float, min_motion: float, max_motion: float) -> str:
    """STILL below ``min_motion``, MACRO at or above ``max_motion``, else MICRO."""
    if peak_motion < min_motion:
        return STILL
    return MACRO if peak_motion >= max_motion else MICRO


def outcome_line(clip: dict[str, Any]) -> str:
    """One line for an interval that is no micro-expression (``clip``: ``prepare_video``'s dict,
    or any mapping with onset, offset, peak_motion, min_motion, max_motion and outcome)."""
    where = (
        f"the most likely interval (frames {clip['onset']}..{clip['offset']}) moves "
        f"{clip['peak_motion']:.2f} px at its peak"
    )
    if clip["outcome"] == MACRO:
        return (
            f"no micro-expression: the motion is too large for one (a macro movement or an occlusion): "
            f"{where}, at or above the {clip['max_motion']:.2f} px no real micro-expression measured reaches "
            "(--max-motion)"
        )
    return f"no micro-expression found: {where}, below the {clip['min_motion']:.2f} px of a still face (--min-motion)"


def prepare_video(
    video_path: str | Path,
    out_dir: str | Path,
    config: PreprocessConfig | None = None,
    max_frames: int | None = None,
    progress: bool = True,
    detect_max_side: int = 640,
    min_face_run: int = 3,
    min_motion: float = keyframes.STILL_MOTION_PX,
    max_motion: float = keyframes.MACRO_MOTION_PX,
) -> dict[str, Any]:
    """Find the most likely micro-expression in a video and write its features to ``out_dir``.

    Returns the ``clip.json`` dict: video, n_frames (frames read), fps, face_frames (indices of
    the frames with a face), n_face_frames, onset/apex/offset (video frame indices), apex_source
    "spotted", peak_motion (px, ``keyframes.Interval``), min_motion, max_motion, outcome
    (``motion_outcome``), micro_expression, faces (folder of aligned crops), features (the .npz),
    preprocess (config), digest.

    When the spotted interval's peak motion is below ``min_motion`` (a still face: codec and
    sensor noise only; ``keyframes.STILL_MOTION_PX``) or at or above ``max_motion`` (more than
    any real micro-expression measured: ``keyframes.MACRO_MOTION_PX``), ``micro_expression`` is
    False and no faces or features are written (stale ones are removed): an outcome, not an error.
    Raises LFDError naming the video when it cannot be read, shows no face, or its longest run
    of face frames is too short to spot an interval in.

    The video is streamed in three passes (track faces; contrast score on the longest run of
    face frames; the spotted window, then aligned): memory holds one window of 2k + 1 frames
    (k = a quarter second), whatever the video's length.

    Nine parameters: the video, the folder and the settings, then six tuning options with defaults
    that its callers (``prepare-video``, ``predict``, the benchmarks) set independently.
    """
    config = config or PreprocessConfig()
    path, out = Path(video_path), Path(out_dir)
    if config.render == "composite":
        raise LFDError(
            "preprocess setting render: composite takes frames that are already face crops; "
            "a video's faces must be found and aligned (render: aligned, or framed for the composite's geometry)",
            path,
        )
    if not max_motion > min_motion:  # NaN too
        raise LFDError(f"--max-motion ({max_motion}) must be above --min-motion ({min_motion})")
    reader = VideoReader(path, max_frames=max_frames)
    fps = reader.fps if reader.fps > 0 else _DEFAULT_FPS
    with progress_bar(desc="track faces", unit="frame", disable=not progress) as bar:
        boxes = track_video_faces(
            (frame for _, frame in reader.frames()), config.detector, detect_max_side, bar=bar
        )
    if len(boxes) < 3:  # a face or not, onset, apex and offset need three frames
        raise LFDError(
            f"only {len(boxes)} frame(s) read: a micro-expression needs at least 3 (onset, apex, offset)",
            path,
        )
    runs = face_runs(boxes, max(min_face_run, 1))
    longest = max((last - first + 1 for first, last in face_runs(boxes, 1)), default=0)
    if longest == 0:
        raise LFDError(f"no face found in any of the {len(boxes)} frames read", path)
    if not runs or longest < 3:
        raise LFDError(f"a face shows in at most {longest} consecutive frames: too few to spot", path)
    face_frames = [i for first, last in runs for i in range(first, last + 1)]
    first, last = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    k = keyframes.contrast_half_window(last - first + 1, fps)
    steady = steady_boxes(boxes[first : last + 1], k)  # type: ignore[arg-type]
    crops = (_crop(frame, steady[i - first]) for i, frame in reader.frames(first, last + 1))
    start, end = keyframes.spot_window(keyframes.contrast_curve(crops, k), k, fps)
    start, end = first + start, first + end
    frames = reader.read(start, end + 1)
    box = _median_box(boxes[start : end + 1])  # type: ignore[arg-type]
    found = keyframes.refine_interval([_crop(f, box) for f in frames])
    on, ap, off = (start + i for i in found[:3])
    clip: dict[str, Any] = {
        "video": str(path),
        "n_frames": len(boxes),
        "max_frames": max_frames,
        "fps": fps,
        "fps_known": reader.fps > 0,
        "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
        "face_frames": face_frames,
        "n_face_frames": len(face_frames),
        "onset": on,
        "apex": ap,
        "offset": off,
        "apex_source": "spotted",
        "peak_motion": round(found.peak_motion, 4),
        "min_motion": min_motion,
        "max_motion": max_motion,
        "outcome": motion_outcome(found.peak_motion, min_motion, max_motion),
        "faces": FACES_DIR,
        "features": FEATURES,
        "preprocess": config.to_dict(),
        "digest": config.digest(),
    }
    clip["micro_expression"] = clip["outcome"] == MICRO
    out.mkdir(parents=True, exist_ok=True)
    faces_dir = out / FACES_DIR
    for stale in [*faces_dir.glob("frame_*.png"), out / FEATURES]:  # a rerun must not mix outputs
        stale.unlink(missing_ok=True)
    if clip["micro_expression"]:
        window = frames[on - start : off - start + 1]
        _write_features(path, out, window, boxes[on], (on, ap, off), len(boxes), config)
    else:
        clip["faces"] = clip["features"] = None
    tmp = out / f"{CLIP_JSON}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(clip, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / CLIP_JSON)
    return clip


def _write_features(
    path: Path,
    out: Path,
    frames: Sequence[np.ndarray],
    onset_box: Box | None,
    keys: tuple[int, int, int],
    n_frames: int,
    config: PreprocessConfig,
) -> None:
    """Align onset..offset with one transform from the onset's landmarks; write the aligned crops
    (``faces/frame_<index>.png``) and the feature-store entry (``features.npz``)."""
    on, ap, off = keys
    onset_marks = face.face_landmarks(frames[0], onset_box)  # type: ignore[arg-type]
    aligned = face.align_clip(
        frames, onset_marks, config.face_size, config.detector, source=path, render=config.render
    )
    feats = replace(
        features_from_aligned(aligned.frames, ap - on, config),
        onset_idx=on,
        apex_idx=ap,
        offset_idx=off,
        apex_source="spotted",
    )
    faces_dir = out / FACES_DIR
    faces_dir.mkdir(exist_ok=True)
    for i, crop in zip(range(on, off + 1), aligned.frames):
        if not cv2.imwrite(str(faces_dir / f"frame_{i:06d}.png"), crop):
            raise LFDError("cannot write face crop", faces_dir / f"frame_{i:06d}.png")
    sample = Sample(
        dataset="video",
        subject=path.stem,
        clip=path.stem,
        emotion="",
        onset=on,
        apex=ap,
        offset=off,
        frame_numbers=tuple(range(n_frames)),
        source=str(path),
        apex_source="spotted",
    )
    save_clip_features(out / FEATURES, feats, {**sample_meta(sample, feats, config), "video": str(path)})
