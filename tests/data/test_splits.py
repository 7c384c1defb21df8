"""Subject-independent splits: no subject on both sides, every sample tested exactly once."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.splits import Fold, all_subjects_fold, lodo_folds, loso_folds, subject_kfold


def random_subjects(rng: np.random.Generator) -> list[str]:
    """A random sample list over qualified subjects of uneven sizes, in shuffled order."""
    datasets = ["casme2", "samm", "smic", "casme3"][: rng.integers(1, 5)]
    pool = [f"{d}/{rng.integers(0, 40):03d}" for d in datasets for _ in range(rng.integers(2, 12))]
    pool = sorted(set(pool))
    sizes = rng.integers(1, 15, size=len(pool))
    subjects = [s for s, n in zip(pool, sizes) for _ in range(n)]
    return [subjects[i] for i in rng.permutation(len(subjects))]


def check_folds(folds: list[Fold], subjects: list[str]) -> None:
    tested = Counter()
    for fold in folds:
        train_subjects = {subjects[i] for i in fold.train}
        test_subjects = {subjects[i] for i in fold.test}
        assert not train_subjects & test_subjects, f"{fold.name}: subject on both sides"
        assert test_subjects == set(fold.test_subjects)
        assert sorted(fold.train + fold.test) == list(range(len(subjects)))  # a partition of the samples
        tested.update(fold.test)
    assert tested == Counter(range(len(subjects)))  # every sample tested exactly once


@pytest.mark.parametrize("trial", range(40))
def test_loso_property(trial):
    subjects = random_subjects(np.random.default_rng(trial))
    folds = loso_folds(subjects)
    check_folds(folds, subjects)
    assert [f.name for f in folds] == sorted(set(subjects))
    assert all(len(f.test_subjects) == 1 for f in folds)


@pytest.mark.parametrize("trial", range(40))
def test_kfold_property(trial):
    rng = np.random.default_rng(1000 + trial)
    subjects = random_subjects(rng)
    n_subjects = len(set(subjects))
    if n_subjects < 2:
        pytest.skip("one subject cannot be split")
    k = int(rng.integers(2, min(10, n_subjects) + 1))
    folds = subject_kfold(subjects, k, seed=trial)
    assert len(folds) == k
    check_folds(folds, subjects)
    assert all(f.test for f in folds)
    assert subject_kfold(subjects, k, seed=trial) == folds  # deterministic by seed


def test_qualified_subjects_stay_apart():
    subjects = ["samm/006", "samm/006", "casme3/006", "smic/s1", "casme3/006"]
    folds = {f.name: f for f in loso_folds(subjects)}
    assert set(folds) == {"samm/006", "casme3/006", "smic/s1"}
    assert folds["samm/006"].test == (0, 1) and folds["casme3/006"].test == (2, 4)
    for fold in subject_kfold(subjects, 3, seed=0):
        assert len(fold.test_subjects) == 1


def test_kfold_balances_uneven_subjects():
    subjects = ["a"] * 30 + ["b"] * 10 + ["c"] * 10 + ["d"] * 10
    sizes = sorted(len(f.test) for f in subject_kfold(subjects, 2, seed=5))
    assert sizes == [30, 30]


def test_kfold_rejects_bad_k():
    with pytest.raises(ValueError):
        subject_kfold(["a", "b"], 3)
    with pytest.raises(ValueError):
        subject_kfold(["a", "b"], 1)


def test_real_composite_loso(shared_data):
    samples = load_samples("megc2019", shared_data / "megc2019_composite" / "combined_3class_gt.csv")
    subjects = [s.qualified_subject for s in samples]
    folds = loso_folds(subjects)
    assert len(folds) == 68
    check_folds(folds, subjects)


def test_lodo_tests_each_dataset_on_a_model_of_the_others():
    rng = np.random.default_rng(0)
    datasets = [str(d) for d in rng.choice(["smic", "casme2", "samm"], size=60)]
    subjects = [f"{d}/{rng.integers(0, 5)}" for d in datasets]
    folds = lodo_folds(datasets, subjects)
    assert [f.name for f in folds] == ["casme2", "samm", "smic"]
    check_folds(folds, subjects)
    for fold in folds:
        assert {datasets[i] for i in fold.test} == {fold.name}
        assert fold.name not in {datasets[i] for i in fold.train}


def test_the_all_fold_trains_every_sample_and_tests_none():
    fold = all_subjects_fold(["a/1", "a/2", "b/1"])
    assert (fold.name, fold.train, fold.test, fold.test_subjects) == ("all", (0, 1, 2), (), ())
