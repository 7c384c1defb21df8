"""The held-out identity probe of a run: does a code tell WHO an unseen subject is?

Within each fold whose test set holds two or more subjects (subject k-fold), the fold's model
codes its held-out samples, all unseen and all in that one model's space;
``analysis.probe.heldout_identity`` measures same-subject retrieval and verification AUC for the
motion code, the identity code and the classifier's input, averaged over folds (weighted by
samples), beside two references computed the same way: the raw input (faces and flows
flattened) and an untrained model of the same shape (each fold's, initialised with the fold's
seed, never trained). A code free of identity sits near the untrained reference or below it.

Not under leave-one-subject-out: a fold tests one subject, so pooling codes over folds would put
every subject in its own model's space, and retrieval could find the model rather than the
person (untrained models included). Such a run records why the probe is not available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lfd_tcmen.analysis.probe import heldout_identity, same_subject_hits
from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.records import FoldRecord
from lfd_tcmen.models import create_model_for

CODES = {"motion": "motion_code", "identity": "identity_code", "classifier": "classifier_input"}


def heldout_probe(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> dict[str, Any]:
    """``{"available", "codes": {name: probe}, "raw_input": probe, "untrained": {name: probe},
    "folds"}`` over the folds of ``records`` with two or more test subjects (names: motion,
    identity, classifier); ``{"available": False, "reason"}`` when there is none."""
    usable = _several_subjects(records, features)
    if not usable:
        return {
            "available": False,
            "reason": "every fold tests one subject (leave-one-subject-out): pooled over folds, each "
            "subject's codes sit in their own model's space, so retrieval would find the model, not the "
            "person; run a subject k-fold split (data.split: kfold) to measure it",
        }
    per_fold = [
        {
            "codes": {n: heldout_identity(c, fold.subjects) for n, c in fold.codes.items()},
            "raw_input": heldout_identity(fold.raw, fold.subjects),
            "untrained": {n: heldout_identity(c, fold.subjects) for n, c in fold.untrained.items()},
        }
        for fold in _fold_codes(usable, features, config)
    ]
    untrained = per_fold[0]["untrained"]  # the same codes in every fold (_untrained_codes)
    names = [n for n in CODES if all(n in f["codes"] for f in per_fold)]
    return {
        "available": True,
        "what": "same-subject 1-NN retrieval and verification AUC among each fold's held-out subjects, "
        "in that fold's model's space, averaged over folds (weighted by samples)",
        "folds": len(usable),
        "codes": {n: _mean([f["codes"][n] for f in per_fold]) for n in names},
        "raw_input": _mean([f["raw_input"] for f in per_fold]),
        "untrained": {n: _mean([f["untrained"][n] for f in per_fold]) for n in names if n in untrained},
    }


def heldout_hits(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> dict[str, np.ndarray]:
    """Per-sample same-subject 1-NN hits (``analysis.probe.same_subject_hits``) of the probe's
    codes, over ``features``' N samples: ``{"motion": (N,), ..., "untrained motion": (N,), ...,
    "raw input": (N,)}``, 1.0 hit, 0.0 miss, NaN where the sample is not queried (not tested in a
    fold with two or more subjects, or the only sample of its subject there). For paired
    comparisons of two runs on the same subject split (``stats.paired_rate_bootstrap``)."""
    usable = _several_subjects(records, features)
    hits: dict[str, np.ndarray] = {}

    def put(name: str, index: np.ndarray, codes: np.ndarray, subjects: list[str]) -> None:
        hits.setdefault(name, np.full(len(features), np.nan))[index] = same_subject_hits(codes, subjects)

    for fold in _fold_codes(usable, features, config):
        for n, c in fold.codes.items():
            put(n, fold.index, c, fold.subjects)
        for n, c in fold.untrained.items():
            put(f"untrained {n}", fold.index, c, fold.subjects)
        put("raw input", fold.index, fold.raw, fold.subjects)
    return hits


def _several_subjects(records: Sequence[FoldRecord], features: FeatureSet) -> list[FoldRecord]:
    """The folds whose test set holds two or more subjects: the only ones the probe can use."""
    return [r for r in records if len({features.subjects[i] for i in r.test_index}) >= 2]


@dataclass
class _FoldCodes:
    index: np.ndarray  # the fold's test samples
    subjects: list[str]
    codes: dict[str, np.ndarray]  # the trained model's, by CODES name
    raw: np.ndarray  # faces and flows flattened
    untrained: dict[str, np.ndarray]  # the fold's model as initialised, never trained


def _fold_codes(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> list[_FoldCodes]:
    """Each fold's held-out codes: trained, raw input and untrained (the probe's three columns)."""
    untrained = _untrained_codes(records, features, config)
    folds = []
    for j, r in enumerate(records):
        n = len(r.test_index)
        raw = np.concatenate(
            [features.faces[r.test_index].reshape(n, -1), features.flows[r.test_index].reshape(n, -1)], axis=1
        )
        folds.append(
            _FoldCodes(
                index=r.test_index,
                subjects=[features.subjects[i] for i in r.test_index],
                codes={name: r.codes[f"test_{name}"] for name in CODES if f"test_{name}" in r.codes},
                raw=raw,
                untrained={name: codes[j] for name, codes in untrained.items()},
            )
        )
    return folds


def _mean(probes: Sequence[dict[str, float | int]]) -> dict[str, float | int]:
    """Sample-weighted mean of per-fold probes; counts summed."""
    weights = np.array([p["n_samples"] for p in probes], dtype=np.float64)
    out: dict[str, float | int] = {
        k: float(np.average([p[k] for p in probes], weights=weights))
        for k in ("retrieval", "retrieval_chance", "auc")
    }
    out["n_samples"] = int(weights.sum())
    out["n_subjects"] = int(sum(p["n_subjects"] for p in probes))
    return out


def _untrained_codes(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> dict[str, list[np.ndarray]]:
    """Per fold, its model as initialised with its seed, never trained, on its held-out samples."""
    chunks: dict[str, list[np.ndarray]] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(config.train.threads)
    try:
        for r in records:
            model = create_model_for(
                features,
                config.model.name,
                config.model.params,
                len(r.info.get("train_subjects", [])),
                seed=int(r.info.get("seed", 0)),
            )
            out = evaluate(model, features, r.test_index, config.train.eval_batch_size)
            for name, key in CODES.items():
                if key in out:
                    chunks.setdefault(name, []).append(out[key])
    finally:
        torch.set_num_threads(threads)
    return {name: parts for name, parts in chunks.items() if len(parts) == len(records)}
