"""The composite's framing as a landmark template: where a face's 68 landmarks lie in CASME II's
Cropped frames squeezed to a square (``face.FRAMING_TEMPLATE``, ``render: framed``).

    .venv/bin/python benchmarks/framing_template.py > results/framing_template.txt   # ~1 min

The MEGC2019 composite's CASME II flows were computed on the Cropped release's frames squeezed to
a square, no alignment (docs/design.md, "Flow agreement with the composite"). A video has no
such crop, but its onset face can be mapped onto where faces lie in one: for every clip of the
official sheet found in casme2_cropped (all 26 subjects), dlib's 68 landmarks on the onset frame,
divided by the frame's width and height (the squeeze: 0 .. 1 on both axes), averaged over the
clips. Printed: the counts, the spread of each point across clips, how far leaving one subject out
moves the template, and the constant to paste.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from shared_data import add_data_option, data_root  # benchmarks/shared_data.py

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.preprocess import face
from lfd_tcmen.preprocess.io import read_frames

SHEET = "annotations/casme2/CASME2-coding-20190701.xlsx"


def onset_landmarks_in_squeeze(data: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """sample id -> (68, 2) onset landmarks as fractions of the Cropped frame's width and height;
    and the samples left out (no onset frame, no face found)."""
    with deferred_frame_errors():  # absent clips are reported below, not raised
        samples = load_samples("casme2", data / SHEET, data / "casme2_cropped")
    found, left = {}, []
    for sample in samples:
        try:
            (onset,) = read_frames([sample.frames[sample.frame_index(sample.onset)]])
        except LFDError:  # a clip (or its onset frame) the copy lacks: counted, not fatal
            left.append(f"{sample.sample_id} (no onset frame)")
            continue
        box = face.detect_face(onset)
        if box is None:
            left.append(f"{sample.sample_id} (no face)")
            continue
        height, width = onset.shape[:2]
        found[sample.sample_id] = face.face_landmarks(onset, box).astype(np.float64) / (width, height)
    return found, left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(parser)
    data = data_root(parser.parse_args().data)
    if not (data / "casme2_cropped").is_dir():
        print(f"skipped: no casme2_cropped under {data}", file=sys.stderr)
        return 0
    start = time.perf_counter()
    found, left = onset_landmarks_in_squeeze(data)
    points = np.stack(list(found.values()))  # (N, 68, 2)
    template = points.mean(axis=0)
    subjects = sorted({s.rsplit("/", 1)[0] for s in found})
    spread = points.std(axis=0)  # per point and axis, fraction of the side
    print(
        "# The composite's framing: dlib's 68 onset landmarks in CASME II's Cropped frames squeezed to 1 x 1\n"
    )
    print("command: .venv/bin/python benchmarks/framing_template.py > results/framing_template.txt\n")
    print(
        f"clips: {len(found)} from {len(subjects)} subjects ({', '.join(s.split('/')[1] for s in subjects)})"
    )
    print(f"left out ({len(left)}): {', '.join(left) if left else 'none'}")
    print(
        f"spread across clips (sd, fraction of the side): median {np.median(spread):.4f}, "
        f"largest {spread.max():.4f} (point {int(spread.max(axis=1).argmax())})"
    )
    by_subject = np.array([s.rsplit("/", 1)[0] for s in found])
    shifts = [  # a subject's place in the template: the template without it, against the whole
        np.linalg.norm(points[by_subject != subject].mean(axis=0) - template, axis=1).mean()
        for subject in subjects
    ]
    print(
        f"leaving one subject out moves the template's points by {np.mean(shifts) * 128:.2f} px on average at "
        f"128 x 128 (mean over points; the subject moving it most: {max(shifts) * 128:.2f} px)"
    )
    mean_side = np.mean([np.ptp(p[:, 0]) for p in points]), np.mean([np.ptp(p[:, 1]) for p in points])
    print(f"landmarks' mean extent: {mean_side[0]:.3f} of the width, {mean_side[1]:.3f} of the height\n")
    print("FRAMING_TEMPLATE = np.array(  # (68, 2): x / width, y / height")
    print("    [")
    for row in range(0, 68, 4):
        pairs = ", ".join(f"({x:.4f}, {y:.4f})" for x, y in template[row : row + 4])
        print(f"        {pairs},")
    print("    ],")
    print("    dtype=np.float64,")
    print(")")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
