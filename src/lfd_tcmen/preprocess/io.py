"""Reading frames and videos, with one clear error naming the file when something is wrong.

Frames are read as grey ``(H, W)`` uint8: faces are aligned, and optical flow computed, on grey
images throughout the pipeline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.config.experiment import read_yaml
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.images import decode_image
from lfd_tcmen.preprocess.config import PreprocessConfig

# FFmpeg's own log lines ("moov atom not found") would reach users beside the one-line error a
# damaged video gets; OpenCV reads this once, at its first capture. A user's own setting wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")
_JPEG_EOI = b"\xff\xd9"
# libjpeg's warnings for data it decoded past (a grey or shifted block where the damage was)
_JPEG_DAMAGE = ("Corrupt JPEG data", "Premature end of JPEG file")


def read_frame(path: str | Path) -> np.ndarray:
    """One image file as grey ``(H, W)`` uint8.

    Raises LFDError naming ``path`` when the file is missing, empty, truncated (a JPEG without
    its end-of-image marker, which OpenCV would otherwise decode silently with a grey tail),
    damaged where libjpeg decodes past it (its "Corrupt JPEG data" line, which names no file,
    becomes the error) or cannot be decoded.
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
    image, messages = decode_image(data, cv2.IMREAD_GRAYSCALE)  # libjpeg reports damage only there
    damage = [m for m in messages if m.startswith(_JPEG_DAMAGE)]
    if damage:
        raise LFDError(f"corrupt image: {damage[0]}", path)
    for line in messages:  # anything else the decoder said, as it would have reached the user
        print(line, file=sys.stderr)
    if image is None:
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


class VideoReader:
    """A video decoded one frame at a time, as often as asked: memory does not grow with length.

    ``frames(start, stop)`` yields ``(index, frame)`` pairs, grey ``(H, W)`` uint8 in display
    order, reopening the file for every pass (frames before ``start`` are grabbed, not
    converted); at most ``max_frames`` frames from the first. ``fps`` is what the container
    reports (0.0 when unknown). Opening checks that the file exists, opens and yields a frame;
    else LFDError naming ``path``.
    """

    def __init__(self, path: str | Path, max_frames: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LFDError("video not found", self.path)
        if max_frames is not None and max_frames < 1:
            raise LFDError(f"max_frames must be >= 1, got {max_frames}")
        self.max_frames = max_frames
        capture = self._open()
        try:
            fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            ok = capture.grab()
        finally:
            capture.release()
        if not ok:
            raise LFDError(
                "no frame could be decoded (empty video, or a codec this OpenCV build cannot decode)",
                self.path,
            )
        self.fps = fps if np.isfinite(fps) and fps >= 0 else 0.0

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise LFDError(
                "cannot open video (not a video, or a codec this OpenCV build cannot decode)", self.path
            )
        return capture

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, grey frame)`` for index in [start, stop) (stop None: to the end)."""
        if self.max_frames is not None:
            stop = self.max_frames if stop is None else min(stop, self.max_frames)
        capture = self._open()
        try:
            index = 0
            while stop is None or index < stop:
                if index < start:
                    if not capture.grab():
                        return
                    index += 1
                    continue
                ok, image = capture.read()
                if not ok or image is None:
                    return
                yield index, image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                index += 1
        finally:
            capture.release()

    def read(self, start: int, stop: int) -> list[np.ndarray]:
        """Frames [start, stop) in memory (a bounded window); LFDError if the video ends sooner."""
        frames = [frame for _, frame in self.frames(start, stop)]
        if len(frames) != stop - start:
            raise LFDError(
                f"frames {start}..{stop - 1} could not all be decoded again (the video changed?)", self.path
            )
        return frames


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """A whole (short) video in memory: (frames, fps) from ``VideoReader``, for clips and tests;
    long videos are read with ``VideoReader.frames`` instead."""
    reader = VideoReader(path, max_frames)
    return [frame for _, frame in reader.frames()], reader.fps


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
