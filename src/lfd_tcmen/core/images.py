"""Image files decoded by OpenCV, with what its C decoders print kept off the terminal.

libjpeg and libpng report damage on the process's stderr (file descriptor 2), in lines that name
no file ("Corrupt JPEG data: ...", "libpng error: IDAT: CRC error"). ``decode_image`` captures
those lines, so the caller turns them into one message naming the file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np


@contextmanager
def c_stderr() -> Iterator[list[str]]:
    """The lines C code writes on stderr (file descriptor 2) within the block, captured instead
    of shown; the list is filled when the block ends."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines += [line for line in capture.read().decode("utf-8", "replace").splitlines() if line.strip()]


def decode_image(data: bytes | Path, flags: int) -> tuple[np.ndarray | None, list[str]]:
    """``cv2.imdecode`` of ``data`` (bytes, or a file read whole): (the image or None, the lines
    the decoder printed on stderr meanwhile)."""
    if isinstance(data, Path):
        data = data.read_bytes()
    if not data:
        return None, []
    with c_stderr() as messages:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    return (None if image is None or image.size == 0 else image), messages
