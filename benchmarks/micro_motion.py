"""How far real micro-expressions move: the ceiling above which a spotted interval is a macro
movement or an occlusion, not a micro-expression.

    .venv/bin/python benchmarks/micro_motion.py > results/micro_motion.txt     # about a minute

``prepare-video`` and ``predict`` measure a spotted interval by its peak local motion
(``keyframes.Interval.peak_motion``: px at 128 x 128, affine head motion removed, best blocks).
``keyframes.STILL_MOTION_PX`` is the floor (results/still_motion.txt). This script measures the
same statistic on every real CASME II micro-expression here (../shared/data/casme2_cropped, read
with the official coding sheet): the clip's frames from onset to offset, grey, resized to the
64 x 64 faces the video path spots on, through ``keyframes.refine_interval`` as a video's window
is. Its peak is the onset->apex displacement, which does not depend on the frame rate.

Rule (fixed before looking at the numbers): the ceiling is the next whole pixel above the largest
peak of any CASME II micro-expression, so none of them would be called a macro movement. Printed:
the distribution, per emotion, and the count of clips at or above a few candidate ceilings.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np
from shared_data import add_data_option, data_root  # benchmarks/shared_data.py

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.preprocess.keyframes import STILL_MOTION_PX, refine_interval

SPOT_SIZE = 64  # preprocess.video spots on faces resized to 64 x 64
CANDIDATES = (4.0, 6.0, 8.0, 10.0, 12.0)


def peak_motion(frames: tuple[Path, ...]) -> float:
    faces = []
    for path in frames:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.is_file() else None
        if grey is None:
            raise LFDError("not a readable image", path)
        faces.append(cv2.resize(grey, (SPOT_SIZE, SPOT_SIZE), interpolation=cv2.INTER_AREA))
    if len(faces) < 3:
        raise LFDError(f"{len(faces)} frames", frames[0] if frames else None)
    return float(refine_interval(np.stack(faces)).peak_motion)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(p)
    args = p.parse_args()
    root = data_root(args.data)
    sheet = root / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"
    with deferred_frame_errors():  # absent clips are skipped below, as prepare skips them
        samples = load_samples("casme2", sheet, root=root / "casme2_cropped")
    peaks: dict[str, float] = {}
    emotions: dict[str, str] = {}
    skipped = []
    for s in samples:
        try:
            peaks[s.sample_id] = peak_motion(s.frames)
        except (LFDError, OSError) as err:
            skipped.append(f"{s.sample_id} ({getattr(err, 'message', err)})")
            continue
        emotions[s.sample_id] = s.emotion
    values = np.array(list(peaks.values()))
    ceiling = float(math.floor(values.max()) + 1)
    print("# .venv/bin/python benchmarks/micro_motion.py")
    print(f"# peak local motion (px at 128 x 128) of {len(values)} real CASME II micro-expressions,")
    print("# onset..offset frames through keyframes.refine_interval, as prepare-video spots a window")
    print(f"# skipped {len(skipped)}: " + "; ".join(skipped) + "\n")
    print("| clips | median | 90% | 99% | max | below the still floor |")
    print("|---:|---:|---:|---:|---:|---:|")
    q50, q90, q99 = np.percentile(values, [50, 90, 99])
    below = int((values < STILL_MOTION_PX).sum())
    print(
        f"| {len(values)} | {q50:.2f} | {q90:.2f} | {q99:.2f} | {values.max():.2f} | {below} (< {STILL_MOTION_PX}) |"
    )
    print("\n| emotion | clips | median | max |\n|---|---:|---:|---:|")
    for emotion in sorted(set(emotions.values())):
        v = np.array([peaks[k] for k, e in emotions.items() if e == emotion])
        print(f"| {emotion} | {len(v)} | {np.median(v):.2f} | {v.max():.2f} |")
    print("\n| ceiling px | clips at or above it |\n|---:|---:|")
    for c in CANDIDATES:
        print(f"| {c:.1f} | {int((values >= c).sum())} |")
    top = sorted(peaks.items(), key=lambda kv: -kv[1])[:5]
    print("\nlargest: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"ceiling (next whole px above the largest peak): {ceiling:.1f} px")


if __name__ == "__main__":
    main()
