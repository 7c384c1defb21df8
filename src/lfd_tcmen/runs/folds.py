"""Folds of a run (LOSO, subject k-fold, leave-one-dataset-out, or all subjects), picked by name,
seeded by name."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lfd_tcmen.config.experiment import DataConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold, all_subjects_fold, lodo_folds, loso_folds, subject_kfold


def make_folds(features: FeatureSet, data: DataConfig, seed: int = 0) -> list[Fold]:
    """The run's folds over ``features.subjects`` (qualified "dataset/subject").

    LOSO folds are named after their test subject ("casme2/sub01"); k-fold folds "fold00"...;
    leave-one-dataset-out folds after their test dataset ("samm"); ``split: all`` has the one
    fold "all", which trains on every subject and tests none. Subjects, never samples, are
    split, so no subject is ever on both sides of a fold.
    """
    if data.split == "all":
        return [all_subjects_fold(features.subjects)]
    if data.split == "lodo":
        datasets = sorted(set(features.datasets))
        if len(datasets) < 2:
            raise LFDError(
                f"data.split lodo (leave one dataset out) needs at least 2 datasets; the data hold "
                f"{len(datasets)} ({', '.join(datasets)})"
            )
        return lodo_folds(features.datasets, features.subjects)
    if data.split == "loso":
        folds = loso_folds(features.subjects)
    else:
        try:
            folds = subject_kfold(features.subjects, data.k, seed=seed)
        except ValueError as err:
            raise LFDError(f"data.k: {err}") from err
    if len(folds) < 2:
        raise LFDError(f"need at least 2 subjects for cross-subject folds, found {len(folds)}")
    return folds


def select_folds(folds: Sequence[Fold], names: Sequence[str] | None) -> list[Fold]:
    """The folds named in ``names`` (in the run's fold order); None or empty selects all.

    A fold may be named as printed ("casme2/sub01") or as its folder ("casme2__sub01"); a LOSO
    fold also by its bare subject ("sub01") when that is unambiguous.
    """
    if not names:
        return list(folds)
    by_name = {f.name: f for f in folds} | {fold_dirname(f.name): f for f in folds}
    chosen: set[str] = set()
    for name in names:
        if name in by_name:
            chosen.add(by_name[name].name)
            continue
        matches = [f.name for f in folds if f.name.split("/", 1)[-1] == name]
        if len(matches) == 1:
            chosen.add(matches[0])
        elif matches:
            raise LFDError(f"fold {name!r} is ambiguous: {', '.join(matches)}")
        else:
            shown = ", ".join(f.name for f in folds[:6]) + (" ..." if len(folds) > 6 else "")
            raise LFDError(f"unknown fold {name!r}; folds are: {shown} (see --list-folds)")
    return [f for f in folds if f.name in chosen]


def probed_folds(folds: Sequence[Fold], limit: int) -> set[str]:
    """Names of the folds the training-sample probe runs on: none (``limit`` 0) or at most
    ``limit`` spread evenly over the run's full fold list (never over a --folds selection, so a
    fold is probed or not whichever folds run)."""
    if limit <= 0:
        return set()
    if limit >= len(folds):
        return {f.name for f in folds}
    stride = len(folds) / limit
    return {folds[int(i * stride)].name for i in range(limit)}


def fold_seed(run_seed: int, fold_name: str) -> int:
    """A fold's own seed: depends on the run seed and the fold's name only.

    So a fold trains identically whichever other folds run, in whichever order (resume).
    """
    digest = hashlib.sha256(f"{run_seed}:{fold_name}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def fold_dirname(fold_name: str) -> str:
    """Folder name for a fold: "casme2/sub01" -> "casme2__sub01" (one path component)."""
    return fold_name.replace("/", "__")


def interleaved(folds: Sequence[Fold]) -> list[Fold]:
    """The folds in the order runs train them: round-robin over datasets.

    LOSO folds are named "dataset/subject"; taking one subject of each dataset in turn means a
    run stopped early covers every dataset. Only the training order changes, never a result.
    """
    groups: dict[str, list[Fold]] = {}
    for fold in folds:
        groups.setdefault(fold.name.split("/", 1)[0] if "/" in fold.name else "", []).append(fold)
    order: list[Fold] = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        order += [g[i] for g in groups.values() if i < len(g)]
    return order
