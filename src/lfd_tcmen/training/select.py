"""Nested, honest model selection: the stopping epoch (and a declared grid), chosen on a fold's
training subjects only.

The fold's training subjects are split into ``train.select_k`` subject-level inner folds. For
each point of ``train.select_grid`` (just the config itself when the grid is empty), each inner
fold trains with the config's schedule over all its epochs and scores its held-out training
subjects after every epoch (UF1). The chosen (point, epoch) maximises the mean inner UF1;
ties go to the earlier point in the declared order, then to the later epoch. The outer
training then uses that point's settings and keeps the model at that epoch (protocol
"honest-nested"). The fold's test subject takes no part in any of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from lfd_tcmen.config.experiment import LEAKY, ExperimentConfig, ModelConfig
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


def grid_points(config: ExperimentConfig) -> list[dict[str, Any]]:
    """Every combination of ``train.select_grid``, in declared order ([{}] for an empty grid)."""
    grid = config.train.select_grid
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def config_at(config: ExperimentConfig, setting: Mapping[str, Any]) -> ExperimentConfig:
    """``config`` with a grid point's ``train.*`` and ``model.*`` values put in."""
    train = {k.removeprefix("train."): v for k, v in setting.items() if k.startswith("train.")}
    params = {k.removeprefix("model.params."): v for k, v in setting.items() if k.startswith("model.params.")}
    out = config.with_train(**train) if train else config
    if params:
        out = replace(out, model=ModelConfig(out.model.name, {**out.model.params, **params}))
    return out


def select_setting(
    features: FeatureSet, fold: Fold, config: ExperimentConfig, seed: int, on_batch: BatchHook | None = None
) -> dict[str, Any]:
    """``{"epoch", "setting", "inner_uf1" (the chosen point's mean per epoch), "k", "grid"}``: the
    stopping epoch and grid point chosen on ``fold``'s training subjects. ``seed``: the fold's;
    inner fold j trains with a seed derived from it (the same for every grid point)."""
    folds = inner_folds(features, fold, config.train.select_k, seed)
    tried = []
    for setting in grid_points(config):
        point = config_at(config, setting)
        curves = []
        for j, inner in enumerate(folds):
            inner_seed = (seed + 1_000_003 * (j + 1)) % 2**31
            result = train_fold(
                features,
                inner,
                point,
                inner_seed,
                protocols=(LEAKY,),
                progress=False,
                on_batch=on_batch,
                train_codes=False,
            )[LEAKY]
            curves.append([row["test_uf1"] for row in result.history])
        tried.append({"setting": setting, "inner_uf1": [round(float(v), 6) for v in np.mean(curves, axis=0)]})
    # max over (mean UF1, earlier point, later epoch)
    score, _, epoch, best = max(
        (uf1, -i, e, i) for i, t in enumerate(tried) for e, uf1 in enumerate(t["inner_uf1"], start=1)
    )
    out = {
        "epoch": epoch,
        "setting": tried[best]["setting"],
        "inner_uf1": tried[best]["inner_uf1"],
        "k": len(folds),
    }
    if len(tried) > 1:
        out["grid"] = tried
    return out
