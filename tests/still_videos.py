"""A still face video made from a real one: one frame held, sensor noise, lossy MPEG-4 encoding
(what benchmarks/still_motion.py measures the threshold on)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.preprocess.io import VideoReader


def still_video(shared_data: Path, out: Path, source: str = "single_face.mp4", frames: int = 48) -> Path:
    path = shared_data / "videos" / source
    if not path.is_file():
        pytest.skip(f"test video {path} not found")
    reader = VideoReader(path, max_frames=1)
    (_, frame), *_ = reader.frames()
    rng = np.random.default_rng(0)
    h, w = frame.shape
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), reader.fps or 30.0, (w, h))
    for _ in range(frames):
        noisy = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(noisy, cv2.COLOR_GRAY2BGR))
    writer.release()
    return out


def looped_video(shared_data: Path, out: Path, loops: int, source: str = "carphone_pristine.mp4") -> Path:
    """A real video played ``loops`` times over (forth and back, so the face never jumps)."""
    path = shared_data / "videos" / source
    if not path.is_file():
        pytest.skip(f"test video {path} not found")
    reader = VideoReader(path)
    frames = [f for _, f in reader.frames()]
    h, w = frames[0].shape
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), reader.fps or 30.0, (w, h))
    for i in range(loops):
        for f in frames if i % 2 == 0 else frames[::-1]:
            writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()
    return out
