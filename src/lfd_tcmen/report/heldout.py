"""The held-out identity probe of a run: does a code tell WHO an unseen subject is?

Each fold's model codes its held-out subject's samples; pooled over all folds, every code comes
from a model that never saw that subject. ``report.probe.heldout_identity`` then measures
same-subject retrieval and verification AUC for the motion code, the identity code and the
classifier's input, beside two references computed the same way: the raw input (faces and flows
flattened) and an untrained model of the same shape (each fold's, initialised with the fold's
seed, never trained). A code free of identity sits near the untrained reference or below it; a
disentangled identity code sits above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lfd_tcmen.config import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.models import create_model_for
from lfd_tcmen.report.probe import heldout_identity
from lfd_tcmen.report.records import FoldRecord
from lfd_tcmen.training.evaluate import evaluate

CODES = {"motion": "motion_code", "identity": "identity_code", "classifier": "classifier_input"}


def heldout_probe(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> dict[str, Any]:
    """``{"codes": {name: probe}, "raw_input": probe, "untrained": {name: probe}, "what": ...}``
    over the held-out samples of ``records`` (names: motion, identity, classifier)."""
    index = np.concatenate([r.test_index for r in records])
    subjects = [features.subjects[i] for i in index]
    trained = {
        name: np.concatenate([r.codes[f"test_{name}"] for r in records])
        for name in CODES
        if all(f"test_{name}" in r.codes for r in records)
    }
    raw = np.concatenate(
        [features.faces[index].reshape(len(index), -1), features.flows[index].reshape(len(index), -1)], axis=1
    )
    untrained = _untrained_codes(records, features, config)
    return {
        "what": "same-subject 1-NN retrieval and verification AUC of held-out samples' codes, pooled "
        "over folds (each code from a model that never saw its subject)",
        "codes": {name: heldout_identity(codes, subjects) for name, codes in trained.items()},
        "raw_input": heldout_identity(raw, subjects),
        "untrained": {
            name: heldout_identity(codes, subjects) for name, codes in untrained.items() if name in trained
        },
    }


def _untrained_codes(
    records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig
) -> dict[str, np.ndarray]:
    """Each fold's model as initialised with its seed, never trained, on its held-out samples."""
    chunks: dict[str, list[np.ndarray]] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(config.train.threads)
    try:
        for r in records:
            torch.manual_seed(int(r.info.get("seed", 0)))
            model = create_model_for(
                features, config.model.name, config.model.params, len(r.info.get("train_subjects", []))
            )
            out = evaluate(model, features, r.test_index, config.train.eval_batch_size)
            for name, key in CODES.items():
                if key in out:
                    chunks.setdefault(name, []).append(out[key])
    finally:
        torch.set_num_threads(threads)
    return {name: np.concatenate(parts) for name, parts in chunks.items() if len(parts) == len(records)}
