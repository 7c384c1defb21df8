"""A raw face video -> the features of its most likely micro-expression, ready for ``predict``.

    read (grey frames) -> track_faces (on frames downscaled to ``detect_max_side``)
      -> face frames: tracked frames, minus runs shorter than ``min_face_run`` (a real face does
         not flash for a frame or two; isolated detections are false positives)
      -> spot_interval on the longest run of face frames (box crops, 64 x 64)
      -> landmarks on the onset frame, ONE similarity transform for onset..offset (align_clip)
      -> the store's features (``features_from_aligned``, apex_source "spotted")

Written to OUT: ``clip.json`` (the returned dict), ``features.npz`` (a feature-store entry) and
``faces/frame_<index>.png`` (the aligned crops of onset..offset, index = video frame index).
Frames without a face are listed by omission: ``face_frames`` holds the indices of the frames
with one, nothing is filled in.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from lfd_tcmen.data.record import Sample
from lfd_tcmen.errors import LFDError
from lfd_tcmen.preprocess import face, keyframes
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.io import read_video
from lfd_tcmen.preprocess.pipeline import features_from_aligned
from lfd_tcmen.preprocess.store import sample_meta, save_clip_features

CLIP_JSON = "clip.json"
FEATURES = "features.npz"
FACES_DIR = "faces"
_SPOT_SIZE = 64  # keyframes compares faces at 64 x 64
_DEFAULT_FPS = 30.0  # when the container does not say


class _TickingFrames(Sequence[np.ndarray]):
    """Frames that advance a progress bar as they are read (track_faces reads each one once)."""

    def __init__(self, frames: Sequence[np.ndarray], bar: tqdm) -> None:
        self._frames, self._bar = frames, bar

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i):  # type: ignore[override]
        self._bar.update(1)
        return self._frames[i]


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
    frames: Sequence[np.ndarray],
    detector: str,
    detect_max_side: int = 640,
    every: int = 2,
    progress: bool = True,
) -> list[tuple[int, int, int, int] | None]:
    """``face.track_faces`` on frames downscaled to ``detect_max_side``; boxes in full-frame pixels."""
    h, w = frames[0].shape[:2]
    scale = min(1.0, detect_max_side / max(h, w))
    small = frames
    if scale < 1.0:
        small = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for f in frames]
    with tqdm(
        total=len(frames), desc="track faces", unit="frame", disable=not progress, file=sys.stderr
    ) as bar:
        boxes = face.track_faces(_TickingFrames(small, bar), detector=detector, every=every)
        bar.update(bar.total - bar.n)  # frames between detections were interpolated
    boxes = _refine_run_edges(small, boxes, detector)
    out: list[tuple[int, int, int, int] | None] = []
    for box in boxes:
        if box is None:
            out.append(None)
            continue
        x0, y0, x1, y1 = (v / scale for v in box)
        out.append((max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))))
    return out


def _refine_run_edges(frames: Sequence[np.ndarray], boxes: list, detector: str) -> list:
    """Detect on the undetected frames next to a face: with ``every`` > 1 the frame between a
    found and a missed detection is left unknown, and a run's true edge may hide there."""
    boxes = list(boxes)
    edges = [
        i
        for i, box in enumerate(boxes)
        if box is None and any(0 <= j < len(boxes) and boxes[j] is not None for j in (i - 1, i + 1))
    ]
    for i in edges:
        boxes[i] = face.detect_face(frames[i], detector=detector)
    return boxes


def _crop(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.resize(frame[y0:y1, x0:x1], (_SPOT_SIZE, _SPOT_SIZE), interpolation=cv2.INTER_AREA)


def prepare_video(
    video_path: str | Path,
    out_dir: str | Path,
    config: PreprocessConfig | None = None,
    max_frames: int | None = None,
    progress: bool = True,
    detect_max_side: int = 640,
    min_face_run: int = 3,
) -> dict[str, Any]:
    """Find the most likely micro-expression in a video and write its features to ``out_dir``.

    Returns the ``clip.json`` dict: video, n_frames (frames read), fps, face_frames (indices of
    the frames with a face), n_face_frames, onset/apex/offset (video frame indices), apex_source
    "spotted", faces (folder of aligned crops), features (the .npz), preprocess (config), digest.
    Raises LFDError naming the video when it cannot be read, shows no face, or its longest run
    of face frames is too short to spot an interval in.
    """
    config = config or PreprocessConfig()
    path, out = Path(video_path), Path(out_dir)
    frames, fps = read_video(path, max_frames=max_frames)
    fps_known = fps > 0
    fps = fps if fps_known else _DEFAULT_FPS
    boxes = track_video_faces(frames, config.detector, detect_max_side, progress=progress)
    runs = face_runs(boxes, max(min_face_run, 1))
    if not runs:
        raise LFDError(f"no face found in any of the {len(frames)} frames read", path)
    face_frames = [i for first, last in runs for i in range(first, last + 1)]
    first, last = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    if last - first + 1 < 3:
        raise LFDError(
            f"a face shows in at most {last - first + 1} consecutive frames: too few to spot", path
        )
    crops = np.stack([_crop(frames[i], boxes[i]) for i in range(first, last + 1)])  # type: ignore[arg-type]
    on, ap, off = (first + int(i) for i in keyframes.spot_interval(crops, fps))
    onset_marks = face.face_landmarks(frames[on], boxes[on])  # type: ignore[arg-type]
    aligned = face.align_clip(
        frames[on : off + 1], onset_marks, config.face_size, config.detector, source=path
    )
    feats = replace(
        features_from_aligned(aligned.frames, ap - on, config),
        onset_idx=on,
        apex_idx=ap,
        offset_idx=off,
        apex_source="spotted",
    )
    out.mkdir(parents=True, exist_ok=True)
    faces_dir = out / FACES_DIR
    faces_dir.mkdir(exist_ok=True)
    for stale in faces_dir.glob("frame_*.png"):  # a rerun with other settings must not mix crops
        stale.unlink()
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
        frame_numbers=tuple(range(len(frames))),
        source=str(path),
        apex_source="spotted",
    )
    save_clip_features(out / FEATURES, feats, {**sample_meta(sample, feats, config), "video": str(path)})
    clip = {
        "video": str(path),
        "n_frames": len(frames),
        "max_frames": max_frames,
        "fps": fps,
        "fps_known": fps_known,
        "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
        "face_frames": face_frames,
        "n_face_frames": len(face_frames),
        "onset": on,
        "apex": ap,
        "offset": off,
        "apex_source": "spotted",
        "faces": FACES_DIR,
        "features": FEATURES,
        "preprocess": config.to_dict(),
        "digest": config.digest(),
    }
    tmp = out / f"{CLIP_JSON}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(clip, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / CLIP_JSON)
    return clip
