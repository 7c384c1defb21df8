"""Nested, honest model selection: the stopping epoch, chosen on a fold's training subjects only.

The fold's training subjects are split into ``train.select_k`` subject-level inner folds. Each
inner fold trains with the config's schedule over all its epochs and scores its held-out
training subjects after every epoch (UF1); the chosen epoch maximises the mean inner UF1 (later
epochs win ties). The outer training then keeps the model at that epoch (protocol
"honest-nested"). The fold's test subject takes no part in any of it.
"""

from __future__ import annotations

import numpy as np

from lfd_tcmen.config import LEAKY, ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold, subject_kfold
from lfd_tcmen.training.epoch import BatchHook
from lfd_tcmen.training.fold import train_fold


def inner_folds(features: FeatureSet, fold: Fold, k: int, seed: int) -> list[Fold]:
    """``k`` subject-level folds over ``fold``'s training samples, as indices of ``features``."""
    train = np.asarray(fold.train, dtype=np.int64)
    subjects = [features.subjects[i] for i in train]
    k = min(k, len(set(subjects)))
    return [
        Fold(
            name=f"{fold.name}/inner{j}",
            train=tuple(int(i) for i in train[list(inner.train)]),
            test=tuple(int(i) for i in train[list(inner.test)]),
            test_subjects=inner.test_subjects,
        )
        for j, inner in enumerate(subject_kfold(subjects, k, seed=seed))
    ]


def select_epoch(
    features: FeatureSet, fold: Fold, config: ExperimentConfig, seed: int, on_batch: BatchHook | None = None
) -> dict[str, object]:
    """``{"epoch", "inner_uf1" (mean per epoch), "k"}``: the stopping epoch chosen on ``fold``'s
    training subjects. ``seed``: the fold's; each inner fold trains with a seed derived from it."""
    curves = []
    folds = inner_folds(features, fold, config.train.select_k, seed)
    for j, inner in enumerate(folds):
        inner_seed = (seed + 1_000_003 * (j + 1)) % 2**31
        result = train_fold(
            features,
            inner,
            config,
            inner_seed,
            protocols=(LEAKY,),
            progress=False,
            on_batch=on_batch,
            train_codes=False,
        )[LEAKY]
        curves.append([row["test_uf1"] for row in result.history])
    mean = np.mean(curves, axis=0)
    best = int(np.flatnonzero(mean == mean.max())[-1]) + 1
    return {"epoch": best, "inner_uf1": [round(float(v), 6) for v in mean], "k": len(folds)}
