"""Tiny in-memory FeatureSets and configs for the training and run tests (seconds per run on 2 cores).

Imported by name (``from toys import make_features``): pytest puts tests/ on the path.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.config import ExperimentConfig
from lfd_tcmen.data.features import FACE_FRAMES_FULL, FeatureSet

SEGMENTS = ("onset:apex", "onset:mid", "mid:apex", "apex:offset")
SMALL_MODEL = {
    "identity_dim": 8,
    "motion_dim": 8,
    "flow_dim": 16,
    "face_width": 4,
    "flow_width": 4,
    "face_resolution": 16,
}


def make_features(
    subjects: int = 4, per_subject: int = 6, classes: int = 3, face: int = 16, flow: int = 8, seed: int = 0
) -> FeatureSet:
    """A learnable toy set: the class shows in the flows' u channel, the subject in the faces."""
    rng = np.random.default_rng(seed)
    n = subjects * per_subject
    labels = np.array([i % classes for i in range(n)], dtype=np.int64)
    subject_of = np.repeat(np.arange(subjects), per_subject)
    faces = rng.random((n, 3, face, face), dtype=np.float32) * 0.2
    faces += (subject_of[:, None, None, None] / subjects).astype(np.float32) * 0.8
    flows = rng.random((n, len(SEGMENTS), 3, flow, flow), dtype=np.float32) * 0.3
    flows[:, :, 0] += (labels[:, None, None, None] / classes).astype(np.float32) * 0.7
    names = tuple(["negative", "positive", "surprise", "other"][:classes])
    datasets = ["toy"] * n
    return FeatureSet(
        sample_ids=[f"toy/s{s}/clip{i:02d}" for i, s in enumerate(subject_of)],
        datasets=datasets,
        subjects=[f"toy/s{s}" for s in subject_of],
        labels=labels,
        class_names=names,
        faces=faces,
        face_frames=FACE_FRAMES_FULL,
        flows=flows,
        flow_segments=SEGMENTS,
        protocol="toy",
    )


def make_config(epochs: int = 2, protocol: str = "honest", **train: object) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "name": "toy",
            "seed": 3,
            "data": {"source": "store", "path": "unused", "face_size": 16, "flow_size": 8},
            "model": {"name": "lfd_tcmen", "params": SMALL_MODEL},
            "train": {
                "protocol": protocol,
                "epochs": epochs,
                "batch_size": 8,
                "lr": 0.003,
                "threads": 1,
                **train,
            },
        }
    )


def write_composite(root: Path, subjects: Sequence[str], clips: int = 3) -> Path:
    """A tiny folder in the MEGC2019 composite layout: CASME II subjects x ``clips`` clips, the
    class in the flow's u channel, the subject in the face's brightness."""
    (root / "flow_uvos_28").mkdir(parents=True)
    (root / "apex_face_224").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for s, subject in enumerate(subjects):
        for c in range(clips):
            clip = f"EP0{c}_0{s}f"
            rows.append(["casme2", subject, clip, str(c % 3)])
            flow = (rng.random((28, 28, 3)) * 80).astype(np.uint8)
            flow[:, :, 2] += np.uint8(80 * (c % 3))  # BGR: the last channel is R = u
            cv2.imwrite(str(root / "flow_uvos_28" / f"{subject}_{clip} .png"), flow)
            face = (rng.random((32, 32)) * 60 + 60 * s).astype(np.uint8)
            cv2.imwrite(str(root / "apex_face_224" / f"{subject}_{clip}.jpg"), face)
    with (root / "combined_3class_gt.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return root


def scramble_test_subject(features: FeatureSet, fold, seed: int) -> FeatureSet:
    """A copy of ``features`` whose test samples of ``fold`` have random faces and flows and
    shifted labels: an honest training must not notice the difference."""
    altered = features.subset(np.arange(len(features)))
    rng = np.random.default_rng(seed)
    test = np.asarray(fold.test)
    altered.faces[test] = rng.random(altered.faces[test].shape, dtype=np.float32)
    altered.flows[test] = rng.random(altered.flows[test].shape, dtype=np.float32)
    altered.labels[test] = (altered.labels[test] + 1) % features.num_classes
    return altered
