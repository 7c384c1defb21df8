"""The codes behind a run's embedding.png: ONE fold's model run over every sample.

Codes of different folds' models live in different spaces (each fold trains its own encoders),
so pooling every fold's test codes would cluster by fold, i.e. by subject, for any model. The
plot therefore uses the model of one fold on every sample: its training subjects and its held-out
subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.records import FoldRecord
from lfd_tcmen.models.checkpoint import load_checkpoint


@dataclass(frozen=True)
class FoldEmbedding:
    """One fold's model's codes of every sample. identity_code, motion_code: (N, D) float32."""

    fold: str
    identity_code: np.ndarray
    motion_code: np.ndarray


def fold_embedding(record: FoldRecord, features: FeatureSet, batch_size: int = 128) -> FoldEmbedding:
    """The identity and motion codes of every sample of ``features`` under ``record``'s model."""
    model = load_checkpoint(record.model_path).model
    out = evaluate(model, features, np.arange(len(features)), batch_size)
    return FoldEmbedding(record.name, out["identity_code"], out["motion_code"])
