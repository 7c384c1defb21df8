"""How closely our onset->apex flow images agree with the MEGC2019 composite's, step by step.

    .venv/bin/python benchmarks/flow_agreement.py > results/flow_agreement.txt   # ~3 min, 1 core

The composite's ``flow_uvos_28`` holds, for 145 CASME II samples, 28 x 28 images (R = u, G = v,
B = optical strain) that its authors computed from CASME II's Cropped release; 142 of them have
their onset and apex frames in ../shared/data/casme2_cropped. For each sample the onset and apex
frames named by the official coding sheet go through ``extract_clip_features`` (the pipeline
``prepare`` runs) under one PreprocessConfig per row, segment onset:apex only, and its flow
through ``export_uvs28``; the row reports, per channel, the Pearson r of that 28 x 28 image with
the composite's, as the median and quartiles over samples. Each row changes one thing against
the row it names, so the table says which step matters; two rows are not a setting: a3 maps the
shipped flow back into the Cropped frame's pixels (is the gap where the pixels are, or the
flow?), b1 squeezes the frame's centre square (the aspect). Pearson r ignores any per-channel
scale and offset, so no normalisation can move it; the script checks the composite's own
normalisation instead (every channel of every image spans 0..255), that its apex faces are the
Cropped frames squeezed, and which apex frame near the annotated one agrees best.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from shared_data import add_data_option, data_root  # benchmarks/shared_data.py

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.composite import GT_FILE, read_composite_index, read_flow
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.preprocess import face
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.flow import export_uvs28, flow_features
from lfd_tcmen.preprocess.io import read_frames
from lfd_tcmen.preprocess.pipeline import extract_clip_features, features_from_aligned

SHEET = "annotations/casme2/CASME2-coding-20190701.xlsx"
CHANNELS = ("u", "v", "strain")
SHIPPED = PreprocessConfig(segments=("onset:apex",))  # the defaults, onset->apex only
COMPOSITE = replace(SHIPPED, render="composite")
OPENCV_TVL1 = {  # cv2.optflow.DualTVL1OpticalFlow_create's defaults (scaleStep stays 0.5)
    "tvl1_scales": 5,
    "tvl1_warps": 5,
    "tvl1_epsilon": 0.01,
    "tvl1_inner_iterations": 30,
    "tvl1_outer_iterations": 10,
}


@dataclass(frozen=True)
class Pair:
    """One composite sample: its onset and apex frames (grey) and the composite's image."""

    sample_id: str
    onset: np.ndarray  # (H, W) uint8, the Cropped release's frame
    apex: np.ndarray
    composite: np.ndarray  # (3, 28, 28) float32 in [0, 1]: u, v, strain
    apex_face: Path  # the composite's apex_face_224 image of the sample


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(p)
    p.add_argument("--limit", type=int, default=None, help="first N samples only (a quick look)")
    return p.parse_args()


def load_pairs(root: Path, limit: int | None) -> tuple[list[Pair], list[str]]:
    """The composite's CASME II samples whose onset and apex frames are here; and those skipped."""
    composite = root / "megc2019_composite"
    entries = {e.sample_id: e for e in read_composite_index(composite / GT_FILE) if e.dataset == "casme2"}
    with deferred_frame_errors():  # absent clips are skipped below, named
        samples = {s.sample_id: s for s in load_samples("casme2", root / SHEET, root / "casme2_cropped")}
    pairs, skipped = [], []
    for sample_id, entry in sorted(entries.items())[:limit]:
        sample = samples.get(sample_id)
        try:
            if sample is None:
                raise LFDError("not in the coding sheet")
            if sample.onset is None or sample.apex is None:
                raise LFDError("no annotated onset or apex")
            key = [sample.frames[sample.frame_index(n)] for n in (sample.onset, sample.apex)]
            onset, apex = read_frames(key)
        except LFDError as err:
            skipped.append(f"{sample_id} ({err.message})")
            continue
        pairs.append(Pair(sample_id, onset, apex, read_flow(entry.flow, 28), entry.face))
    return pairs, skipped


def pipeline_image(config: PreprocessConfig) -> Callable[[Pair], np.ndarray]:
    """(onset, apex) through ``extract_clip_features`` under ``config`` -> (3, 28, 28)."""

    def render(pair: Pair) -> np.ndarray:
        clip = extract_clip_features([pair.onset, pair.apex], 0, 1, 1, config)
        return export_uvs28(clip.flows[0])

    return render


def square_image(config: PreprocessConfig) -> Callable[[Pair], np.ndarray]:
    """As ``render: composite``, but the frame's centre square is squeezed (aspect kept)."""

    def render(pair: Pair) -> np.ndarray:
        h, w = pair.onset.shape
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        crops = [f[y0 : y0 + side, x0 : x0 + side] for f in (pair.onset, pair.apex)]
        faces = face.squeeze_clip(crops, config.face_size)
        return export_uvs28(features_from_aligned(faces, 1, config).flows[0])

    return render


def aligned_in_frame(config: PreprocessConfig) -> Callable[[Pair], np.ndarray]:
    """The shipped render's flow, mapped back into the Cropped frame's pixels (0 where the
    aligned crop does not reach), its vectors too; strain recomputed there."""

    def render(pair: Pair) -> np.ndarray:
        clip = face.align_clip([pair.onset, pair.apex], None, config.face_size, config.detector)
        flow = features_from_aligned(clip.frames, 1, config).flows[0]
        h, w = pair.onset.shape
        back = np.stack(
            [
                cv2.warpAffine(flow[c], clip.transform, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
                for c in range(2)
            ]
        )
        uv = np.linalg.solve(clip.transform[:, :2], back.reshape(2, -1)).reshape(2, h, w)
        return export_uvs28(flow_features(np.dstack(uv).astype(np.float32), config.strain_sigma))

    return render


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def agreement(render: Callable[[Pair], np.ndarray], pairs: list[Pair]) -> tuple[np.ndarray, list[str]]:
    """(n, 3) per-sample Pearson r of u, v, strain; and the samples that failed (named)."""
    rs, failed = [], []
    for pair in pairs:
        try:
            image = render(pair)
        except LFDError as err:
            failed.append(f"{pair.sample_id} ({err.message})")
            continue
        rs.append([pearson(image[c], pair.composite[c]) for c in range(3)])
    return np.array(rs).reshape(-1, 3), failed


def apex_offsets(pairs: list[Pair], root: Path) -> Counter:
    """Per sample, which apex among the annotated one +-2 frames agrees best in u and v."""
    samples = {}
    with deferred_frame_errors():
        for s in load_samples("casme2", root / SHEET, root / "casme2_cropped"):
            samples[s.sample_id] = s
    best: Counter = Counter()
    render = pipeline_image(COMPOSITE)
    for pair in pairs:
        sample = samples[pair.sample_id]
        at = sample.frame_index(sample.apex)
        scores = {}
        for shift in range(-2, 3):
            if 0 <= at + shift < len(sample.frames):
                apex = read_frames([sample.frames[at + shift]])[0]
                image = render(replace(pair, apex=apex))
                scores[shift] = np.mean([pearson(image[c], pair.composite[c]) for c in range(2)])
        best[max(scores, key=scores.__getitem__)] += 1
    return best


ROWS: list[tuple[str, str, Callable[[Pair], np.ndarray]]] = [
    ("a", "shipped: aligned 128 x 128 (dlib, one similarity), TV-L1 as shipped, strain sigma 1",
     pipeline_image(SHIPPED)),
    ("a2", "a + TV-L1 at OpenCV's defaults (5 scales, 5 warps, eps .01, 30 x 10 iterations)",
     pipeline_image(replace(SHIPPED, **OPENCV_TVL1))),
    ("a3", "a's flow mapped back into the Cropped frame's pixels (0 outside the aligned crop)",
     aligned_in_frame(SHIPPED)),
    ("b", "a with render: composite (the Cropped frame squeezed to 128 x 128, no alignment)",
     pipeline_image(COMPOSITE)),
    ("b1", "b, aspect kept: the frame's centre square squeezed instead",
     square_image(COMPOSITE)),
    ("b2", "b, frames resized to 28 x 28 before the flow (face_size 28)",
     pipeline_image(replace(COMPOSITE, face_size=28))),
    ("b3", "b + strain without smoothing (strain_sigma 0)",
     pipeline_image(replace(COMPOSITE, strain_sigma=0.0))),
    ("b4", "b + TV-L1 at OpenCV's defaults",
     pipeline_image(replace(COMPOSITE, **OPENCV_TVL1))),
    ("b5", "b at 224 x 224 (face_size 224, the size of the composite's apex faces)",
     pipeline_image(replace(COMPOSITE, face_size=224))),
]  # fmt: skip


def quartiles(values: np.ndarray) -> str:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return f"{q2:.2f} ({q1:.2f}-{q3:.2f})"


def main() -> int:
    args = parse_args()
    root = data_root(args.data)
    needed = (root / SHEET, root / "casme2_cropped", root / "megc2019_composite" / GT_FILE)
    if not all(p.exists() for p in needed):
        print(f"flow_agreement.py: needs {', '.join(map(str, needed))} (set --data or $LFD_TCMEN_DATA)",
              file=sys.stderr)  # fmt: skip
        return 2
    start = time.time()
    pairs, skipped = load_pairs(root, args.limit)
    print(f"# Onset->apex flow images against the MEGC2019 composite's ({len(pairs)} CASME II samples)")
    print()
    print("Per-sample Pearson r of our 28 x 28 image with the composite's, per channel: median (quartiles).")
    print()
    print("| row | rendering | n | u | v | strain |")
    print("|---|---|---:|---:|---:|---:|")
    failures = []
    for tag, label, render in ROWS:
        rs, failed = agreement(render, pairs)
        failures += [f"{tag}: {f}" for f in failed]
        cells = " | ".join(quartiles(rs[:, c]) for c in range(3)) if len(rs) else "- | - | -"
        print(f"| {tag} | {label} | {len(rs)} | {cells} |", flush=True)
    print()
    composite = np.stack([p.composite for p in pairs])
    lows = (composite == 0).sum(axis=(2, 3))
    highs = (composite == 1).sum(axis=(2, 3))
    spans = np.mean((lows >= 1) & (highs >= 1), axis=0)
    print(
        "Composite normalisation: share of images whose channel holds both a 0 and a 255 "
        + ", ".join(f"{c} {s:.0%}" for c, s in zip(CHANNELS, spans))
        + f" (median count of 0s {np.median(lows):.0f}, of 255s {np.median(highs):.0f}): per-channel min-max."
    )
    faces = [
        pearson(
            read_frames([p.apex_face])[0].astype(np.float32),
            face.squeeze_clip([p.apex], 224)[0].astype(np.float32),
        )
        for p in pairs
    ]
    print(
        "Apex faces: Pearson r of the composite's apex_face_224 with our apex frame squeezed to 224 x 224 "
        f"(face.squeeze_clip): median {np.median(faces):.4f}, lowest {np.min(faces):.4f}."
    )
    best = apex_offsets(pairs, root)
    print(
        "Apex frame: the apex (row b) that agrees best in u and v among the annotated one +-2 frames: "
        + ", ".join(f"{k:+d}: {best[k]}" for k in sorted(best))
        + " samples."
    )
    print()
    print(f"Skipped: {len(skipped)}: " + "; ".join(skipped))
    if failures:
        print(f"Failed: {len(failures)}: " + "; ".join(failures))
    print(f"({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
