"""Is spotting stable under re-encoding? One clip's peak motion and outcome in three encodings.

    .venv/bin/python benchmarks/spotting_stability.py     # a table per video (about a minute a video)

Issue 35 item 16: ``single_face.mp4`` peaked at 2.70 px as shipped, 5.61 px re-encoded as mp4v in
colour and 1.01 px in grey (then "no micro-expression found"), for one or two grey levels of
difference between the decoded frames. A spotter whose statistic moves that much with the codec
cannot tell a micro-expression from a still face. This script measures, for each real video in
../shared/data/videos (or ``--data``):

- **original**: the file as shipped;
- **mp4v colour**: its decoded colour frames re-encoded with OpenCV's ``mp4v`` (what a user's
  phone or a converter does to a clip);
- **mp4v grey**: the same frames converted to grey first, encoded as a one-channel ``mp4v``.

Each encoding goes through ``lfd_tcmen.preprocess.video.prepare_video``, the path ``prepare-video``
and ``predict`` take (face tracking, ``keyframes`` spotting, the still-face gate at
``keyframes.STILL_MOTION_PX``), looked up when the script runs: a later rerun measures whatever
spotter the package then holds. Printed per encoding: the mean absolute grey-level difference of
its decoded frames from the original's, the spotted onset/apex/offset, the peak motion and the
outcome; per video, the spread of the peak (max - min, and max / min) and whether the outcomes
agree. A stable spotter has a spread well below the threshold and one outcome per video.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
from shared_data import add_data_option, data_root  # benchmarks/shared_data.py

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess import keyframes, video

VIDEOS = ("single_face.mp4", "carphone_pristine.mp4")
ENCODINGS = ("original", "mp4v colour", "mp4v grey")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(p)
    p.add_argument("--videos", default=",".join(VIDEOS), help=f"comma-separated (default {','.join(VIDEOS)})")
    return p.parse_args()


def read_colour(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame of ``path`` as decoded BGR (H, W, 3) uint8, and the container's fps (30 if unknown)."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"spotting_stability: cannot decode {path}")
    return frames, fps


def write_mp4v(path: Path, frames: list[np.ndarray], fps: float, colour: bool) -> Path:
    """``frames`` (BGR) re-encoded as mp4v: colour, or grey (converted, one-channel stream)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h), colour)
    for frame in frames:
        writer.write(frame if colour else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    writer.release()
    return path


def grey_difference(a: Path, b: Path) -> float:
    """Mean absolute difference, in grey levels, between two videos' decoded grey frames."""
    grey = [
        [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float64) for f in read_colour(p)[0]] for p in (a, b)
    ]
    n = min(len(grey[0]), len(grey[1]))
    return float(np.mean([np.abs(x - y).mean() for x, y in zip(grey[0][:n], grey[1][:n])]))


def spot(path: Path, work: Path) -> dict:
    """``prepare_video``'s clip.json for ``path`` at the package's still-face threshold."""
    return video.prepare_video(path, work, progress=False, min_motion=keyframes.STILL_MOTION_PX)


def measure(source: Path, work: Path) -> list[dict]:
    """One row per encoding of ``source``: grey difference, key frames, peak motion, outcome."""
    frames, fps = read_colour(source)
    files = {
        "original": source,
        "mp4v colour": write_mp4v(work / f"{source.stem}_colour.mp4", frames, fps, colour=True),
        "mp4v grey": write_mp4v(work / f"{source.stem}_grey.mp4", frames, fps, colour=False),
    }
    rows = []
    for encoding, path in files.items():
        row = {"video": source.name, "encoding": encoding, "diff": grey_difference(source, path)}
        try:
            clip = spot(path, work / "out")
        except LFDError as err:  # no face in the re-encoded frames: an outcome too
            row.update(keys="-", peak=float("nan"), outcome=f"error: {err.message}")
        else:
            row.update(
                keys=f"{clip['onset']}/{clip['apex']}/{clip['offset']}",
                peak=float(clip["peak_motion"]),
                outcome=str(clip["outcome"]),  # still, micro-expression or macro (prepare_video's own word)
            )
        rows.append(row)
    return rows


def main() -> None:
    args = parse_args()
    root = data_root(args.data) / "videos"
    names = [n.strip() for n in args.videos.split(",") if n.strip()]
    print(
        f"# peak local motion (px at 128 x 128) of the spotted interval, prepare_video, still-face "
        f"threshold {keyframes.STILL_MOTION_PX} px"
    )
    print("# mean |grey difference|: the encoding's decoded grey frames against the original's\n")
    print("| video | encoding | mean abs grey difference | onset/apex/offset | peak motion px | outcome |")
    print("|---|---|---:|---|---:|---|")
    spreads = []
    with tempfile.TemporaryDirectory(prefix="spotting-stability-") as tmp:
        for name in names:
            source = root / name
            if not source.is_file():
                print(f"| {name} | (not found in {root}) | | | | |")
                continue
            rows = measure(source, Path(tmp))
            for r in rows:
                print(
                    f"| {r['video']} | {r['encoding']} | {r['diff']:.2f} | {r['keys']} | {r['peak']:.2f} | "
                    f"{r['outcome']} |"
                )
            spreads.append((name, [r["peak"] for r in rows], {r["outcome"] for r in rows}))
    print("\n| video | peak min | peak max | spread (max - min) px | max / min | outcomes agree |")
    print("|---|---:|---:|---:|---:|---|")
    for name, peaks, outcomes in spreads:
        low, high = float(np.nanmin(peaks)), float(np.nanmax(peaks))
        ratio = high / low if low > 0 else float("inf")
        print(
            f"| {name} | {low:.2f} | {high:.2f} | {high - low:.2f} | {ratio:.2f} | "
            f"{'yes' if len(outcomes) == 1 else 'no: ' + ', '.join(sorted(outcomes))} |"
        )


if __name__ == "__main__":
    main()
