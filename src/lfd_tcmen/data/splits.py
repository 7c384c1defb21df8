"""Subject-independent splits: leave-one-subject-out, subject-level k-fold, leave-one-dataset-out,
and the one "fold" that trains on every subject (the model a user deploys; nothing is tested)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fold:
    """One train/test split; indices into the sample list it was made from."""

    name: str  # "casme2/sub01" under LOSO, "fold03" under k-fold, "samm" under LODO, "all"
    train: tuple[int, ...]
    test: tuple[int, ...]
    test_subjects: tuple[str, ...]


def loso_folds(subjects: Sequence[str]) -> list[Fold]:
    """One fold per subject, in sorted subject order.

    ``subjects`` must already be qualified by dataset (``Sample.qualified_subject``) where
    datasets are mixed, so that "006" of SAMM and "006" of another set stay apart.
    """
    subjects = list(subjects)
    folds = []
    for subject in sorted(set(subjects)):
        test = tuple(i for i, s in enumerate(subjects) if s == subject)
        train = tuple(i for i, s in enumerate(subjects) if s != subject)
        folds.append(Fold(name=subject, train=train, test=test, test_subjects=(subject,)))
    return folds


def subject_kfold(subjects: Sequence[str], k: int, seed: int = 0) -> list[Fold]:
    """``k`` folds over subjects (not samples): each subject is tested in exactly one fold.

    Subjects are shuffled with ``seed`` and dealt greedily to the fold with fewest samples so
    far, which keeps fold sizes close for datasets with very uneven subjects (DFME).
    """
    subjects = list(subjects)
    unique = sorted(set(subjects))
    if k < 2 or k > len(unique):
        raise ValueError(f"k must be between 2 and the number of subjects ({len(unique)}), got {k}")
    counts = {s: subjects.count(s) for s in unique}
    order = np.random.default_rng(seed).permutation(len(unique))
    # largest subjects first (stable under the shuffle), each to the currently smallest fold
    ranked = sorted((unique[i] for i in order), key=lambda s: -counts[s])
    members: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for s in ranked:
        j = int(np.argmin(sizes))
        members[j].append(s)
        sizes[j] += counts[s]
    folds = []
    for j, group in enumerate(members):
        chosen = set(group)
        test = tuple(i for i, s in enumerate(subjects) if s in chosen)
        train = tuple(i for i, s in enumerate(subjects) if s not in chosen)
        folds.append(Fold(name=f"fold{j:02d}", train=train, test=test, test_subjects=tuple(sorted(chosen))))
    return folds


def lodo_folds(datasets: Sequence[str], subjects: Sequence[str]) -> list[Fold]:
    """Leave one dataset out: one fold per dataset, in sorted order, named after it; its test
    set is every sample of that dataset, its training set every sample of the others.

    ``datasets`` and ``subjects`` name each sample's dataset and qualified subject (subjects are
    only recorded as the fold's ``test_subjects``). Datasets never share a subject, so no subject
    is on both sides.
    """
    datasets = list(datasets)
    folds = []
    for dataset in sorted(set(datasets)):
        test = tuple(i for i, d in enumerate(datasets) if d == dataset)
        train = tuple(i for i, d in enumerate(datasets) if d != dataset)
        tested = tuple(sorted({subjects[i] for i in test}))
        folds.append(Fold(name=dataset, train=train, test=test, test_subjects=tested))
    return folds


ALL = "all"  # the name of the fold that trains on every subject


def all_subjects_fold(subjects: Sequence[str]) -> Fold:
    """The fold that trains on every sample and tests none (``data.split: all``): the model to
    deploy, or to score on another dataset (``lfd-tcmen evaluate``), after a cross-subject split
    has given the honest estimate."""
    return Fold(name=ALL, train=tuple(range(len(subjects))), test=(), test_subjects=())
