"""Where a still face ends and motion begins: the "no micro-expression" threshold, from real faces.

    .venv/bin/python benchmarks/still_motion.py            # prints the tables (a few minutes)

``prepare-video`` and ``predict`` spot the most likely micro-expression in any video, so a
video with none (a still face) would still get an interval and a class. Its peak local motion
(``keyframes.Interval.peak_motion``: px at 128 x 128, affine head motion removed, best blocks)
tells them apart. This script measures that statistic on:

- **still clips** (the null): a real face frame from each test video in ../shared/data/videos,
  held for two seconds at the video's frame rate, with per-frame Gaussian sensor noise
  (sigma 0, 2 or 4 grey levels) and lossy MPEG-4 encoding (OpenCV's ``mp4v``), then decoded and
  run through ``prepare_video`` exactly as a user's file would be;
- **moving faces**: every two-second segment of the same real videos (talking, turning,
  blinking: motion, though not micro-expressions).

Rule (fixed before looking at the numbers): the threshold is the next multiple of 0.05 px above
the largest peak motion of any still clip, so no still clip here is called a micro-expression. A
leave-one-video-out check derives it without each video's stills and reports how many of that
video's stills it would call motion (its false-alarm rate on an unseen face and camera).
The threshold in ``keyframes.STILL_MOTION_PX`` is the one printed here.

Not measured (no raw micro-expression clip ships here: the composite has flow images min-max
normalised, which lose pixel magnitudes): how many real micro-expressions fall below it. Users
with weaker motion can lower it (``--min-motion``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from shared_data import add_data_option, data_root  # noqa: E402  (benchmarks/shared_data.py)

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.io import VideoReader
from lfd_tcmen.preprocess.video import prepare_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from still_videos import write_video  # noqa: E402  (the tests' writer of lossy MPEG-4 clips)

VIDEOS = {  # name -> frames usable (a face in all of them)
    "single_face.mp4": 72,
    "WolfgangLanger_Pexels.mp4": 472,
    "carphone_pristine.mp4": 120,
    "face_noface.mov": 72,
}
NOISE = (0.0, 2.0, 4.0)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(p)
    p.add_argument("--frames", type=int, default=5, help="source frames per video")
    p.add_argument("--seconds", type=float, default=2.0)
    return p.parse_args()


def peak(video: Path, work: Path, max_frames: int | None = None) -> float:
    clip = prepare_video(video, work, max_frames=max_frames, progress=False, min_motion=0.0)
    return float(clip["peak_motion"])


def main() -> None:
    args = parse_args()
    root = data_root(args.data) / "videos"
    rng = np.random.default_rng(0)
    still: dict[str, list[float]] = {}
    moving: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, usable in VIDEOS.items():
            path = root / name
            if not path.is_file():
                raise SystemExit(f"still_motion: {path} not found")
            reader = VideoReader(path, max_frames=usable)
            fps = reader.fps or 30.0
            n = max(3, int(round(args.seconds * fps)))
            frames = [f for _, f in reader.frames()]
            still[name] = []
            for src in np.linspace(0, len(frames) - 1, args.frames).round().astype(int):
                for sigma in NOISE:
                    noisy = [
                        np.clip(frames[src] + rng.normal(0, sigma, frames[src].shape), 0, 255).astype(
                            np.uint8
                        )
                        for _ in range(n)
                    ]
                    clip = work / f"still_{src}_{sigma}.mp4"
                    write_video(clip, noisy, fps)
                    try:
                        still[name].append(peak(clip, work / "out"))
                    except LFDError as err:  # the detector misses this face under this noise
                        print(f"  skipped {name} still of frame {src}, sigma {sigma}: {err.message}")
            moving[name] = []
            for start in range(0, len(frames) - n + 1, n):
                clip = work / f"moving_{start}.mp4"
                write_video(clip, frames[start : start + n], fps)
                try:
                    moving[name].append(peak(clip, work / "out"))
                except LFDError as err:  # a segment where the face is lost
                    print(f"  skipped {name} segment at frame {start}: {err.message}")

    def rule(values: list[float]) -> float:
        return (math.floor(max(values) / 0.05) + 1) * 0.05  # the next 0.05 strictly above

    every = [v for vs in still.values() for v in vs]
    threshold = rule(every)
    print(f"# peak local motion (px at 128 x 128) of two-second clips; {args.frames} source frames x")
    print(f"# noise sigma {', '.join(str(s) for s in NOISE)} per video for the stills, mp4v-encoded\n")
    print(
        "| video | still clips | still peak: median, max | moving segments | moving peak: min, median |"
        " left-out threshold | its false alarms on this video's stills |"
    )
    print("|---|---:|---|---:|---|---:|---|")
    for name in VIDEOS:
        others = [v for other, vs in still.items() if other != name for v in vs]
        left_out = rule(others)
        alarms = sum(v >= left_out for v in still[name])
        mv = moving[name]
        moving_text = f"{min(mv):.2f}, {np.median(mv):.2f}" if mv else "-"
        print(
            f"| {name} | {len(still[name])} | {np.median(still[name]):.2f}, {max(still[name]):.2f} | "
            f"{len(mv)} | {moving_text} | {left_out:.2f} | {alarms} of {len(still[name])} |"
        )
    all_moving = [v for vs in moving.values() for v in vs]
    below = sum(v < threshold for v in all_moving)
    print(f"\nthreshold (next 0.05 px above the largest still peak): {threshold:.2f} px")
    print(f"moving segments below it (would be called still): {below} of {len(all_moving)}")


if __name__ == "__main__":
    main()
