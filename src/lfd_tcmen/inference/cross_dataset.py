"""Score trained checkpoints on another dataset's prepared feature store (cross-dataset evaluation).

    lfd-tcmen train --config configs/megc2019_all.yaml        # RUN/folds/all/model.pt
    lfd-tcmen prepare ... --protocol casme3-3class --out STORE
    lfd-tcmen evaluate RUN --store STORE                       # UF1, UAR, accuracy

The store's faces and flows go through ``preprocess.inputs.model_inputs`` (``load_feature_set``)
with the sizes and flow normalisation the checkpoint records, and the model gets the face frames
and flow segments it was trained on, picked by name (``inference.predict.select_regime``): the
same inputs ``lfd-tcmen predict`` would give it, clip by clip. Classes are matched by name (the
store's labels are re-indexed into the checkpoint's class order); differing class sets are
refused. Several checkpoints (a run trained with several seeds) are a seed ensemble: their
class probabilities are averaged per sample.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import write_csv, write_json
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import ALL
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.metrics import score_table
from lfd_tcmen.inference.predict import select_regime
from lfd_tcmen.models.checkpoint import Checkpoint, load_checkpoint
from lfd_tcmen.preprocess.load import load_feature_set
from lfd_tcmen.report.predictions import prediction_rows

MODEL = "model.pt"
PREDICTIONS = "predictions.csv"
METRICS = "metrics.json"
EVALUATE_DIR = "evaluate"


@dataclass
class Evaluation:
    """Checkpoints scored on a store.

    probs: (N, C) float32 class probabilities of the store's samples (manifest order), columns in
    the checkpoint's class order; rows: one prediction row per sample
    (``report.predictions.prediction_rows``: dataset, subject, sample, label, pred, p_<class>...,
    fold, protocol), labels and predictions in the checkpoint's class order; scores:
    ``metrics.score_table`` of the rows (overall and per dataset); notes: what a reader must
    know (a seed ensemble, subjects the model has seen); seen_subjects: the store's subjects
    among the checkpoint's training subjects.
    """

    checkpoints: list[Path]
    store: Path
    store_protocol: str
    class_names: tuple[str, ...]
    regime: dict[str, list[str]]
    rows: list[dict[str, Any]]
    probs: np.ndarray
    scores: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    seen_subjects: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "cross-dataset evaluation: trained checkpoint(s) scored on a prepared feature store",
            "checkpoints": [str(p) for p in self.checkpoints],
            "seed_ensemble": len(self.checkpoints) > 1,
            "store": str(self.store),
            "store_protocol": self.store_protocol,
            "class_names": list(self.class_names),
            "regime": self.regime,
            "overall": self.scores["overall"],
            "per_dataset": self.scores["per_dataset"],
            "seen_subjects": self.seen_subjects,
            "notes": self.notes,
            "predictions": PREDICTIONS,
        }


def find_checkpoints(path: str | Path) -> list[Path]:
    """The checkpoint(s) ``path`` names: a ``model.pt``; a run folder's ``folds/all/model.pt``
    (``data.split: all``); or a multi-seed run folder's ``seed<k>/folds/all/model.pt``, by seed."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LFDError("no such checkpoint or run folder", path=path)
    own = path / "folds" / ALL / MODEL
    if own.is_file():
        return [own]
    seeds = [
        d
        for d in path.glob("seed*")
        if re.fullmatch(r"seed\d+", d.name) and (d / "folds" / ALL / MODEL).is_file()
    ]
    if seeds:
        return [d / "folds" / ALL / MODEL for d in sorted(seeds, key=lambda d: int(d.name[4:]))]
    what = "a run folder without" if (path / "folds").is_dir() or any(path.glob("seed*/folds")) else "no"
    raise LFDError(
        f"{what} model trained on all subjects (folds/{ALL}/{MODEL} or seed<k>/folds/{ALL}/{MODEL}); train "
        f"one with data.split: {ALL}, or give a fold's {MODEL}",
        path=path,
    )


def default_out(path: str | Path, store: str | Path) -> Path:
    """``RUN/evaluate/<store folder name>``: RUN is the run folder given, or the one holding the
    checkpoint file (``RUN/folds/<fold>/model.pt``; else the checkpoint's own folder)."""
    path = Path(path)
    if path.is_file():
        path = path.parents[2] if path.parent.parent.name == "folds" else path.parent
    return path / EVALUATE_DIR / Path(store).resolve().name


def evaluate_checkpoints(checkpoints: Sequence[str | Path], store: str | Path) -> Evaluation:
    """Score ``checkpoints`` (one model, or the seeds of one run: probabilities averaged) on
    the prepared feature store ``store``. Problems raise ``LFDError`` naming the file."""
    if not checkpoints:
        raise LFDError("no checkpoint to evaluate")
    store = Path(store)
    paths = [Path(p) for p in checkpoints]
    models = [load_checkpoint(p) for p in paths]
    first = models[0]
    for path, ckpt in zip(paths[1:], models[1:]):
        if ckpt.class_names != first.class_names:
            raise LFDError(
                f"the seeds' checkpoints disagree on the classes: {list(ckpt.class_names)} vs "
                f"{list(first.class_names)} ({paths[0]})",
                path=path,
            )
    cache: dict[tuple[Any, ...], FeatureSet] = {}
    per_model = []
    for path, ckpt in zip(paths, models):
        features = store_features(store, ckpt, path, cache)
        out = evaluate(
            ckpt.model,
            features,
            np.arange(len(features)),
            batch_size=128,
            hflip=bool(ckpt.config.get("train", {}).get("tta_hflip")),
        )
        per_model.append(out["probs"].astype(np.float64))
    probs = np.mean(per_model, axis=0).astype(np.float32)  # one model: its own probabilities
    protocol = str(first.config.get("train", {}).get("protocol", ""))
    rows = prediction_rows(features, np.arange(len(features)), probs, protocol, fold=first.extra.get("fold"))
    seen = sorted(set(features.subjects) & set(first.extra.get("train_subjects") or []))
    return Evaluation(
        checkpoints=paths,
        store=store,
        store_protocol=features.protocol,
        class_names=first.class_names,
        regime={"face_frames": list(first.spec.face_frames), "flow_segments": list(first.spec.flow_segments)},
        rows=rows,
        probs=probs,
        scores=score_table(rows, num_classes=len(first.class_names)),
        notes=_notes(paths, seen, len(set(features.subjects))),
        seen_subjects=seen,
    )


def store_features(
    store: Path, ckpt: Checkpoint, path: Path, cache: dict[tuple[Any, ...], FeatureSet] | None = None
) -> FeatureSet:
    """The store as ``ckpt``'s model eats it: ``model_inputs`` with its sizes and flow
    normalisation, its face frames and flow segments (by name), labels in its class order.

    faces (N, F', S, S), flows (N, K', 3, R, R) in the model's frame and segment order.
    ``cache`` keeps the store loaded once per (sizes, normalisation) across checkpoints.
    """
    pre = ckpt.preprocess
    sizes = (
        int(pre.get("face_size", ckpt.spec.face_size)),
        int(pre.get("flow_size", ckpt.spec.flow_size)),
        str(pre.get("flow_norm", "minmax")),
    )
    cache = {} if cache is None else cache
    if sizes not in cache:
        cache[sizes] = load_feature_set(store, *sizes)
    features = cache[sizes]
    unlabelled = int((features.labels < 0).sum())
    if unlabelled:
        raise LFDError(
            f"{unlabelled} of the store's {len(features)} samples have no label: nothing to score them against",
            path=store,
        )
    to_model = class_index(features.class_names, ckpt.class_names, store, path)
    try:  # select_regime picks along the first axis: frames and segments first, then back
        faces, flows = select_regime_batch(features, ckpt)
    except LFDError as err:
        raise LFDError(
            f"{err.message} (the store's features: {', '.join(features.flow_segments)})", path=store
        ) from None
    return FeatureSet(
        sample_ids=features.sample_ids,
        datasets=features.datasets,
        subjects=features.subjects,
        labels=to_model[features.labels],
        class_names=ckpt.class_names,
        faces=faces,
        face_frames=tuple(ckpt.spec.face_frames),
        flows=flows,
        flow_segments=tuple(ckpt.spec.flow_segments),
        protocol=features.protocol,
        flow_normalised=bool(pre.get("flow_normalised", True)),  # as predict mirrors them
        meta=features.meta,
    )


def select_regime_batch(features: FeatureSet, ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """``inference.predict.select_regime`` over every sample of ``features`` at once."""
    faces, flows = select_regime(
        features.faces.swapaxes(0, 1),
        features.flows.swapaxes(0, 1),
        features.face_frames,
        features.flow_segments,
        ckpt,
    )
    return np.ascontiguousarray(faces.swapaxes(0, 1)), np.ascontiguousarray(flows.swapaxes(0, 1))


def class_index(
    store_classes: Sequence[str], model_classes: Sequence[str], store: Path, checkpoint: Path
) -> np.ndarray:
    """(C,) the checkpoint's class index of each store class, matched by name; differing class
    sets raise ``LFDError`` naming both lists."""
    if sorted(store_classes) != sorted(model_classes) or len(set(store_classes)) != len(store_classes):
        raise LFDError(
            f"the classes differ: checkpoint {checkpoint} has {list(model_classes)}, the store has "
            f"{list(store_classes)}; prepare the store with a protocol of the same classes "
            "(e.g. casme2-3class, samm-3class, casme3-3class for a MEGC2019 3-class model)",
            path=store,
        )
    return np.array([list(model_classes).index(name) for name in store_classes], dtype=np.int64)


def _notes(paths: Sequence[Path], seen: Sequence[str], subjects: int) -> list[str]:
    notes = []
    if len(paths) > 1:
        notes.append(
            f"seed ensemble: the class probabilities of {len(paths)} checkpoints averaged per sample"
        )
    if seen:
        shown = ", ".join(seen[:4]) + (" ..." if len(seen) > 4 else "")
        notes.append(
            f"the model was trained on {len(seen)} of the store's {subjects} subjects ({shown}): their "
            "samples are not unseen, so these scores are not a cross-dataset estimate"
        )
    return notes


def write_evaluation(evaluation: Evaluation, out: str | Path) -> Path:
    """``OUT/predictions.csv`` (the columns of a run's, so ``lfd-tcmen score`` reads it) and
    ``OUT/metrics.json``; returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / PREDICTIONS, evaluation.rows)
    write_json(out / METRICS, evaluation.to_dict())
    return out
