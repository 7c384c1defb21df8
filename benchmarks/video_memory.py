"""Peak memory of ``prepare-video`` against video length: it streams, so the peak stays flat.

    .venv/bin/python benchmarks/video_memory.py        # a table; a few minutes

Each row loops a real test video (../shared/data/videos) forth and back N times into an mp4v
file, then runs ``lfd-tcmen prepare-video`` on it in a fresh process and reports that process's
peak resident memory (``ru_maxrss``: interpreter, torch, OpenCV and dlib included) and the
peak of Python-traced allocations inside ``prepare_video`` (numpy arrays included), with the
wall time. What a whole-video read would need for the frames alone is given beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from still_videos import looped_video  # noqa: E402  (the test helper that makes the long videos)

CHILD = """
import json, resource, sys, tracemalloc
from lfd_tcmen.preprocess.video import prepare_video
tracemalloc.start()
clip = prepare_video(sys.argv[1], sys.argv[2], progress=False)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"n_frames": clip["n_frames"], "frame_size": clip["frame_size"], "traced": traced,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="default: $LFD_TCMEN_DATA or ../shared/data")
    args = p.parse_args()
    env = os.environ.get("LFD_TCMEN_DATA")
    root = args.data or (Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data")
    rows = [("carphone_pristine.mp4", n) for n in (1, 8, 64)] + [
        ("WolfgangLanger_Pexels.mp4", n) for n in (1, 8)
    ]
    print(
        "| video | loops | frames | frame size | whole video as grey frames | peak RSS | traced peak | wall |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, loops in rows:
            video = looped_video(root, Path(tmp) / f"{loops}_{name}", loops, source=name)
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(video), str(Path(tmp) / "out")],
                check=True,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            r = json.loads(done.stdout.strip().splitlines()[-1])
            w, h = r["frame_size"]
            print(
                f"| {name} | {loops} | {r['n_frames']} | {w}x{h} | {r['n_frames'] * w * h / 2**20:.0f} MiB | "
                f"{r['rss_kb'] / 1024:.0f} MiB | {r['traced'] / 2**20:.1f} MiB | {wall:.0f} s |"
            )


if __name__ == "__main__":
    main()
