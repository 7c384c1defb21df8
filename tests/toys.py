"""Tiny in-memory FeatureSets and configs for the training and run tests (seconds per run on 2 cores).

Imported by name (``from toys import make_features``): pytest puts tests/ on the path.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.data.features import FACE_FRAMES_FULL, FeatureSet
from lfd_tcmen.preprocess.clip_file import feature_file_name, write_npz
from lfd_tcmen.preprocess.manifest import MANIFEST

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


def make_datasets(
    datasets: Sequence[str] = ("casme2", "samm", "smic"),
    subjects: int = 2,
    per_subject: int = 4,
    seed: int = 0,
) -> FeatureSet:
    """``make_features`` spread over several datasets: ``subjects`` subjects of each, every one
    qualified by its dataset ("samm/s1"), sample ids "samm/s1/clip05"."""
    toy = make_features(subjects=len(datasets) * subjects, per_subject=per_subject, seed=seed)
    dataset_of = [datasets[int(s.split("/s")[1]) // subjects] for s in toy.subjects]
    subject_of = [f"{d}/s{int(s.split('/s')[1]) % subjects}" for d, s in zip(dataset_of, toy.subjects)]
    toy.datasets = dataset_of
    toy.subjects = subject_of
    toy.sample_ids = [f"{s}/clip{i:02d}" for i, s in enumerate(subject_of)]
    return toy


def write_store(
    root: Path,
    features: FeatureSet,
    class_names: Sequence[str] | None = None,
    segments: Sequence[str] | None = None,
    protocol: str = "toy-3class",
) -> Path:
    """A feature store (the files ``lfd-tcmen prepare`` writes) holding ``features``' samples:
    faces as uint8, flows as float16 at the face size, the manifest. ``class_names`` (default
    the features') re-indexes the labels by name; ``segments`` (default the features') stores
    the flow segments in that order."""
    root.mkdir(parents=True)
    names = list(class_names or features.class_names)
    order = [features.flow_segments.index(s) for s in (segments or features.flow_segments)]
    entries = []
    for i, sample_id in enumerate(features.sample_ids):
        dataset, subject, clip = sample_id.split("/")
        file = feature_file_name(sample_id, "toy")
        faces = np.clip(np.rint(features.faces[i] * 255), 0, 255).astype(np.uint8)
        write_npz(
            root / file,
            {
                "faces": faces,
                "flows": features.flows[i][order].astype(np.float16),
                "meta": np.array(json.dumps({"sample_id": sample_id})),
            },
        )
        label = names.index(features.class_names[int(features.labels[i])])
        entries.append(
            {"sample_id": sample_id, "dataset": dataset, "subject": subject, "clip": clip, "file": file,
             "label": label, "status": "ok"}
        )  # fmt: skip
    manifest = {
        "config": None,
        "protocol": protocol,
        "class_names": names,
        "face_frames": list(FACE_FRAMES_FULL),
        "segments": [features.flow_segments[k] for k in order],
        "samples": entries,
    }
    (root / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return root


def write_composite_run(path: Path, shared_data: Path, pred_of, class_columns: bool = False) -> Path:
    """A run folder on the real MEGC2019 composite's 442 samples, named as a run names them;
    ``pred_of(entry)`` gives each prediction (``class_columns``: one-hot ``p_<class>`` columns)."""
    from lfd_tcmen.core.files import csv_text
    from lfd_tcmen.data.composite import read_composite_index

    entries = read_composite_index(shared_data / "megc2019_composite" / "combined_3class_gt.csv")
    rows = []
    for e in entries:
        pred = pred_of(e)
        row = {
            "dataset": e.dataset,
            "subject": e.subject,
            "sample": e.sample_id,
            "label": e.label,
            "pred": pred,
        }
        if class_columns:
            row.update(
                {f"p_{name}": float(pred == c) for c, name in enumerate(("negative", "positive", "surprise"))}
            )
        rows.append(row)
    path.mkdir(parents=True, exist_ok=True)
    (path / "predictions.csv").write_text(csv_text(rows))
    return path
