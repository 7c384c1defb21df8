"""The identity-leakage probe finds identity where it is and does not invent it where it is not."""

from __future__ import annotations

import numpy as np

from lfd_tcmen.analysis.probe import identity_leakage_probe


def _subjects(n_subjects=8, per_subject=12):
    return [f"casme2/sub{i:02d}" for i in range(n_subjects) for _ in range(per_subject)]


def test_probe_recovers_subjects_from_identity_codes():
    rng = np.random.default_rng(0)
    subjects = _subjects()
    centres = rng.normal(0, 3, (8, 16))
    codes = centres[[int(s[-2:]) for s in subjects]] + rng.normal(0, 1, (len(subjects), 16))
    result = identity_leakage_probe(codes, subjects, seed=0)
    assert result["n_subjects"] == 8 and result["n_samples"] == 96
    assert result["chance"] == 1 / 8
    assert result["accuracy"] > 0.9


def test_probe_is_near_chance_on_random_codes():
    rng = np.random.default_rng(1)
    subjects = _subjects(10, 15)
    codes = rng.normal(size=(len(subjects), 16))
    result = identity_leakage_probe(codes, subjects, seed=0)
    assert result["chance"] == 0.1
    assert result["accuracy"] < 0.2


def test_probe_is_deterministic_and_drops_single_sample_subjects():
    rng = np.random.default_rng(2)
    subjects = _subjects(4, 6) + ["samm/006"]  # one subject with a single sample
    codes = rng.normal(size=(len(subjects), 5))
    codes[:, 0] += np.repeat(np.arange(4), 6).tolist() + [0]
    a = identity_leakage_probe(codes, subjects, seed=3)
    b = identity_leakage_probe(codes, subjects, seed=3)
    assert a == b
    assert a["n_subjects"] == 4 and a["n_samples"] == 24


def test_probe_with_too_few_subjects():
    result = identity_leakage_probe(np.zeros((3, 2)), ["a", "a", "b"])
    assert result["n_subjects"] == 1 and np.isnan(result["accuracy"])
