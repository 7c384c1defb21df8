"""A still face video made from a real one: one frame held, sensor noise, lossy MPEG-4 encoding
(what benchmarks/still_motion.py measures the threshold on)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.preprocess.io import VideoReader


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Grey frames as an MPEG-4 (mp4v) video, the lossy encoding a user's file has."""
    h, w = frames[0].shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def still_video(shared_data: Path, out: Path, source: str = "single_face.mp4", frames: int = 48) -> Path:
    path = shared_data / "videos" / source
    if not path.is_file():
        pytest.skip(f"test video {path} not found")
    reader = VideoReader(path, max_frames=1)
    (_, frame), *_ = reader.frames()
    rng = np.random.default_rng(0)
    noisy = [np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8) for _ in range(frames)]
    return write_video(out, noisy, reader.fps or 30.0)


def looped_video(shared_data: Path, out: Path, loops: int, source: str = "carphone_pristine.mp4") -> Path:
    """A real video played ``loops`` times over (forth and back, so the face never jumps)."""
    path = shared_data / "videos" / source
    if not path.is_file():
        pytest.skip(f"test video {path} not found")
    reader = VideoReader(path)
    frames = [f for _, f in reader.frames()]
    looped = [f for i in range(loops) for f in (frames if i % 2 == 0 else frames[::-1])]
    return write_video(out, looped, reader.fps or 30.0)
