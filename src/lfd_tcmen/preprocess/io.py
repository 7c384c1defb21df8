"""Reading frames and videos, with one clear error naming the file when something is wrong.

Frames are read as grey ``(H, W)`` uint8: faces are aligned, and optical flow computed, on grey
images throughout the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.config import read_yaml
from lfd_tcmen.errors import LFDError
from lfd_tcmen.preprocess.config import PreprocessConfig

_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")
_JPEG_EOI = b"\xff\xd9"


def read_frame(path: str | Path) -> np.ndarray:
    """One image file as grey ``(H, W)`` uint8.

    Raises LFDError naming ``path`` when the file is missing, empty, truncated (a JPEG without
    its end-of-image marker, which OpenCV would otherwise decode silently with a grey tail) or
    cannot be decoded.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LFDError("frame not found", path) from None
    except OSError as err:
        raise LFDError(f"cannot read frame: {err.strerror or err}", path) from None
    if not data:
        raise LFDError("frame file is empty", path)
    if path.suffix.lower() in _JPEG_SUFFIXES and _JPEG_EOI not in data[-64:]:
        raise LFDError("corrupt image: truncated JPEG (no end-of-image marker)", path)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise LFDError("corrupt image: cannot be decoded", path)
    return image


def read_frames(paths: Sequence[str | Path]) -> list[np.ndarray]:
    """Frames of one clip, grey ``(H, W)`` uint8 each, all of the same size (else LFDError)."""
    frames: list[np.ndarray] = []
    for path in paths:
        image = read_frame(path)
        if frames and image.shape != frames[0].shape:
            raise LFDError(
                f"frame size {image.shape[1]}x{image.shape[0]} differs from the clip's first frame "
                f"({frames[0].shape[1]}x{frames[0].shape[0]})",
                path,
            )
        frames.append(image)
    return frames


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """Decode a video file with OpenCV.

    Returns (frames, fps): frames grey ``(H, W)`` uint8 in display order (at most
    ``max_frames``); fps as the container reports it (0.0 when unknown).
    Raises LFDError naming ``path`` when the file is missing, cannot be opened (unsupported codec
    or not a video) or yields no frame.
    """
    path = Path(path)
    if not path.is_file():
        raise LFDError("video not found", path)
    if max_frames is not None and max_frames < 1:
        raise LFDError(f"max_frames must be >= 1, got {max_frames}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise LFDError(
                "cannot open video (not a video, or a codec this OpenCV build cannot decode)", path
            )
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames: list[np.ndarray] = []
        while max_frames is None or len(frames) < max_frames:
            ok, image = capture.read()
            if not ok or image is None:
                break
            if image.ndim == 3:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            frames.append(image)
    finally:
        capture.release()
    if not frames:
        raise LFDError(
            "no frame could be decoded (empty video, or a codec this OpenCV build cannot decode)", path
        )
    if not np.isfinite(fps) or fps < 0:
        fps = 0.0
    return frames, fps


def read_preprocess_config(path: str | Path | None) -> PreprocessConfig:
    """PreprocessConfig from a YAML file (None: the defaults).

    The file is either the mapping of settings itself or an experiment config holding it under
    ``preprocess:``; unknown settings raise LFDError naming the file.
    """
    if path is None:
        return PreprocessConfig()
    path = Path(path)
    if not path.exists():
        raise LFDError("config file not found", path)
    data = read_yaml(path, "preprocess config")  # the one YAML reader: bad bytes or syntax named
    if isinstance(data, dict) and "preprocess" in data:
        data = data["preprocess"] or {}
    return PreprocessConfig.from_dict(data, source=str(path))
