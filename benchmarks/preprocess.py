"""Preprocessing speed: per-stage milliseconds and clips per second, 1 and 2 worker processes.

Usage:  .venv/bin/python benchmarks/preprocess.py [--clips 16] [--workers 1 2] [--size 128]

Renders synthetic clips (``lfd_tcmen.synth.render``, CASME II layout, 24 frames at 128 x 128)
into a temporary folder, then times each preprocessing stage on one core and the whole per-clip
work in a pool of worker processes (each ``cv2.setNumThreads(1)``). Also prints the TV-L1
accuracy/speed trade-off of the configured parameters against OpenCV's defaults on a textured
image moved by a known sub-pixel warp. Prints tables; asserts nothing (targets live here, not
in tests): >= 4 clips/s with alignment, onset->apex flow + strain and 3 complement flows on 2
cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import openpyxl

from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import align_clip, detect_face, face_landmarks
from lfd_tcmen.preprocess.flow import compute_flow, flow_features, key_frame_indices, segment_flows
from lfd_tcmen.preprocess.keyframes import spot_apex
from lfd_tcmen.synth.render import FRAMES_DIR, render_dataset

STAGES = (
    ("read", "read + decode frames (JPEG)"),
    ("detect", "detect + 68 landmarks (onset)"),
    ("align", "align clip (1 transform)"),
    ("flow_apex", "onset->apex TV-L1 + strain"),
    ("flow_complement", "3 complement flows + strain"),
    ("spot", "apex spotting (when missing)"),
)


@dataclass(frozen=True)
class Clip:
    folder: Path
    numbers: tuple[int, ...]  # frame numbers onset..offset
    apex: int  # index of the annotated apex


def list_clips(sheet: Path) -> list[Clip]:
    rows = list(openpyxl.load_workbook(sheet)["Sheet1"].iter_rows(values_only=True))[1:]
    clips = []
    for subject, name, _, onset, apex, offset, *_ in rows:
        numbers = tuple(range(int(onset), int(offset) + 1))
        clips.append(
            Clip(sheet.parent / FRAMES_DIR / f"sub{subject}" / name, numbers, numbers.index(int(apex)))
        )
    return clips


class StageTimer:
    """Wall-clock and CPU seconds per named stage (CPU time is immune to other load)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[name] = wall - self._start[0]
        self.cpu[name] = cpu - self._start[1]
        self._start = (wall, cpu)


def process_clip(clip: Clip, config: PreprocessConfig, detect: bool, spot: bool) -> StageTimer:
    """Run the per-clip stages once; returns their wall and CPU seconds."""
    timer = StageTimer()
    frames = [cv2.imread(str(clip.folder / f"img{n}.jpg"), cv2.IMREAD_GRAYSCALE) for n in clip.numbers]
    landmarks = np.load(clip.folder / "landmarks.npy")
    timer.lap("read")
    if detect:
        box = detect_face(frames[0], config.detector)
        if box is None:
            raise RuntimeError(f"no face detected in {clip.folder}")
        landmarks = face_landmarks(frames[0], box)
        timer.lap("detect")
    aligned = align_clip(frames, landmarks, config.face_size, config.detector).frames
    timer.lap("align")
    apex = clip.apex
    if spot:
        apex = spot_apex(aligned, 0, len(aligned) - 1)
        timer.lap("spot")
    apex = min(max(apex, 1), len(aligned) - 2)  # keep every segment non-empty
    keys = key_frame_indices(0, apex, len(aligned) - 1)
    timer.lap("keys")
    flow = compute_flow(aligned[0], aligned[apex], config.flow_method, config)
    flow_features(flow, config.strain_sigma)
    timer.lap("flow_apex")
    segment_flows(aligned, keys, config.segments[1:], config.flow_method, config)
    timer.lap("flow_complement")
    return timer


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _work(args: tuple[Clip, PreprocessConfig, bool, bool]) -> float:
    return sum(process_clip(*args).cpu.values())


def throughput(
    clips: list[Clip], config: PreprocessConfig, workers: int, detect: bool, spot: bool
) -> tuple[float, float]:
    """(measured clips/s, CPU-bound clips/s) of the whole per-clip work over ``workers`` processes.

    The second figure is ``workers / mean CPU seconds per clip``: what the pool delivers when
    nothing else competes for the cores.
    """
    ctx = get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        # warm-up: imports, model loading (dlib's 100 MB landmark model), TV-L1 allocation
        list(pool.map(_work, [(clips[0], config, True, True)] * workers * 2))
        start = time.perf_counter()
        cpu = list(pool.map(_work, [(c, config, detect, spot) for c in clips]))
        measured = len(clips) / (time.perf_counter() - start)
    return measured, workers / float(np.mean(cpu))


def tvl1_tradeoff(config: PreprocessConfig) -> list[tuple[str, float, float, float]]:
    """(name, CPU ms per 128 x 128 pair, mean EPE px, p95 EPE px) on a known noisy warp, one thread."""
    rng = np.random.default_rng(0)
    small = rng.random((32, 32)).astype(np.float32)
    img = cv2.GaussianBlur(cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC), (0, 0), 1.2)
    img = ((img - img.min()) / (img.max() - img.min()) * 200 + 25).astype(np.float32)
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)

    def field(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.exp(-((x - 70) ** 2 + (y - 60) ** 2) / (2 * 14.0**2))
        return 0.6 + 1.2 * g, -0.3 - 0.8 * g

    ex, ey = field(xx, yy)
    moved = cv2.remap(img, xx - ex.astype(np.float32), yy - ey.astype(np.float32), cv2.INTER_CUBIC)
    px, py = xx.copy(), yy.copy()
    for _ in range(30):
        fx, fy = field(px, py)
        px, py = xx + fx, yy + fy
    truth = np.dstack([px - xx, py - yy])
    # sensor noise (sigma 2.5 grey levels) on both frames, as in real clips
    a = np.clip(img + rng.normal(0, 2.5, img.shape), 0, 255).astype(np.uint8)
    b = np.clip(moved + rng.normal(0, 2.5, img.shape), 0, 255).astype(np.uint8)
    opencv_defaults = PreprocessConfig(
        tvl1_scales=5, tvl1_warps=5, tvl1_epsilon=0.01, tvl1_inner_iterations=30, tvl1_outer_iterations=10
    )
    rows = []
    for name, cfg in (("configured", config), ("OpenCV defaults", opencv_defaults)):
        compute_flow(a, b, "tvl1", cfg)
        start = time.process_time()
        for _ in range(10):
            flow = compute_flow(a, b, "tvl1", cfg)
        ms = (time.process_time() - start) / 10 * 1000
        epe = np.hypot(*(flow - truth).transpose(2, 0, 1))[16:-16, 16:-16]
        rows.append((name, ms, float(epe.mean()), float(np.percentile(epe, 95))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16, help="synthetic clips to render (default 16)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--size", type=int, default=128, help="face size S (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    config = PreprocessConfig(face_size=args.size)
    subjects = max(1, min(99, (args.clips + 7) // 8))
    per_subject = max(1, -(-args.clips // subjects))

    print(f"# preprocessing benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"# load average before: {os.getloadavg()[0]:.2f} (other processes share the cores when > 0)")
    print(
        f"# face {config.face_size}x{config.face_size}, flow {config.flow_method} (scales {config.tvl1_scales}, "
        f"warps {config.tvl1_warps}, epsilon {config.tvl1_epsilon}, iterations "
        f"{config.tvl1_inner_iterations}x{config.tvl1_outer_iterations}), segments {list(config.segments)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        sheet = render_dataset(
            Path(tmp),
            subjects=subjects,
            clips_per_subject=per_subject,
            seed=args.seed,
            size=args.size,
            progress=False,
        )
        clips = list_clips(sheet)[: args.clips]
        frames_per_clip = np.mean([len(c.numbers) for c in clips])
        print(f"# {len(clips)} synthetic clips, {frames_per_clip:.0f} frames each\n")

        for clip in clips[:2]:  # warm-up in this process
            process_clip(clip, config, detect=True, spot=True)
        timers = [process_clip(clip, config, detect=True, spot=True) for clip in clips]
        print("| stage (1 process, 1 thread) | wall ms / clip | CPU ms / clip |")
        print("|---|---:|---:|")
        for name, label in STAGES:
            wall = np.mean([t.wall[name] for t in timers]) * 1000
            cpu = np.mean([t.cpu[name] for t in timers]) * 1000
            print(f"| {label} | {wall:.1f} | {cpu:.1f} |")

        heads = " | ".join(f"{w} worker{'s' * (w > 1)}: measured / CPU-bound" for w in args.workers)
        print(f"\n| per-clip work (clips/s) | {heads} |")
        print("|---|" + "---:|" * len(args.workers))
        variants = (
            ("read + align + 4 flows/strain (landmarks file)", False, False),
            ("+ detect + landmarks", True, False),
            ("+ detect + landmarks + apex spotting", True, True),
        )
        for label, detect, spot in variants:
            rates = [throughput(clips, config, w, detect, spot) for w in args.workers]
            print(f"| {label} | " + " | ".join(f"{m:.2f} / {c:.2f}" for m, c in rates) + " |")

    print(f"\n# load average after: {os.getloadavg()[0]:.2f}")
    print(
        "\n| TV-L1 at 128x128 (known warp 0.3-1.5 px, noise 2.5) | CPU ms / pair | mean EPE px | p95 EPE px |"
    )
    print("|---|---:|---:|---:|")
    for name, ms, mean_epe, p95 in tvl1_tradeoff(config):
        print(f"| {name} | {ms:.1f} | {mean_epe:.3f} | {p95:.3f} |")


if __name__ == "__main__":
    main()
