"""Prediction rows as ``lfd-tcmen score`` reads them, and how files and titles name a protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lfd_tcmen.data.features import FeatureSet


def predictions_name(protocol: str) -> str:
    """``predictions.csv`` for honest runs; the leaky protocol is named in the file name."""
    return "predictions.csv" if protocol == "honest" else f"predictions_{protocol}.csv"


def protocol_label(protocol: str) -> str:
    """Human label for titles: the leaky protocol says what it does."""
    if protocol == "honest":
        return "honest protocol"
    if protocol == "honest-nested":
        return "honest-nested protocol: epoch chosen by cross-validation on the training subjects"
    return f"{protocol} protocol: epoch chosen on the test subject, optimistic"


def prediction_rows(
    features: FeatureSet, index: Sequence[int], probs: np.ndarray, protocol: str, fold: str | None = None
) -> list[dict[str, Any]]:
    """Rows ``dataset, subject, sample, label, pred, p_<class>..., fold, protocol``.

    subject is the dataset's own subject id (``dataset`` qualifies it); probabilities keep 6 decimals.
    """
    rows = []
    for row, i in enumerate(index):
        dataset = features.datasets[i]
        subject = features.subjects[i]
        if subject.startswith(dataset + "/"):
            subject = subject[len(dataset) + 1 :]
        r: dict[str, Any] = {
            "dataset": dataset,
            "subject": subject,
            "sample": features.sample_ids[i],
            "label": int(features.labels[i]),
            "pred": int(probs[row].argmax()),
        }
        for c, name in enumerate(features.class_names):
            r[f"p_{name}"] = f"{float(probs[row, c]):.6f}"
        if fold is not None:
            r["fold"] = fold
        r["protocol"] = protocol
        rows.append(r)
    return rows
