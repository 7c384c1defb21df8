"""The held-out identity probe: retrieval and verification on constructed codes, and on a run."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lfd_tcmen.analysis.heldout import heldout_hits
from lfd_tcmen.analysis.probe import _auc, heldout_identity
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.run_dir import finished_folds, read_fold


def test_identity_codes_are_found_and_random_codes_are_not():
    rng = np.random.default_rng(0)
    subjects = [f"s{i // 6}" for i in range(120)]
    faces = np.repeat(rng.normal(size=(20, 16)), 6, axis=0) + 0.05 * rng.normal(size=(120, 16))
    found = heldout_identity(faces, subjects)
    assert found["retrieval"] == 1.0 and found["auc"] > 0.99
    noise = heldout_identity(rng.normal(size=(120, 16)), subjects)
    assert noise["retrieval"] < 0.2 and abs(noise["auc"] - 0.5) < 0.05
    assert noise["retrieval_chance"] == pytest.approx(5 / 119)


def test_auc_is_the_rank_formula_with_ties():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 4, 500).astype(float)
    positive = rng.random(500) < 0.2
    assert _auc(scores, positive) == pytest.approx(roc_auc_score(positive, scores))


def test_a_kfold_run_measures_it_within_each_folds_model_beside_its_references(
    tmp_path, make_features, make_config
):
    features = make_features(subjects=4, per_subject=6)
    config = make_config(epochs=1, probe_folds=2).override()
    config = type(config).from_dict(
        {**config.to_dict(), "data": {**config.to_dict()["data"], "split": "kfold", "k": 2}}
    )
    run = run_experiment(config, features, tmp_path, progress=False)
    heldout = run.metrics["identity_heldout"]
    assert heldout["available"] and heldout["folds"] == 2
    assert set(heldout["codes"]) == {"motion", "identity", "classifier"} == set(heldout["untrained"])
    assert heldout["raw_input"]["n_samples"] == 24 and heldout["raw_input"]["n_subjects"] == 4
    # the toy faces carry the subject in their brightness: the raw input mostly names it
    assert heldout["raw_input"]["retrieval"] > 2 * heldout["raw_input"]["retrieval_chance"]
    assert "TRAINING" in run.metrics["identity_leakage"]["what"]

    # per-sample hits, for paired intervals: every sample is queried here (6 per subject), and
    # their mean is the probe's retrieval
    records = [read_fold(tmp_path, f) for f in finished_folds(tmp_path)]
    assert len(records) == 2
    hits = heldout_hits(records, features, config)
    assert set(hits) == {"motion", "identity", "classifier", "raw input"} | {
        f"untrained {n}" for n in ("motion", "identity", "classifier")
    }
    for name, h in hits.items():
        assert h.shape == (24,) and set(np.unique(h)) <= {0.0, 1.0}
        probe = (
            heldout["raw_input"]
            if name == "raw input"
            else (
                heldout["untrained"][name.split()[1]]
                if name.startswith("untrained")
                else heldout["codes"][name]
            )
        )
        assert h.mean() == pytest.approx(probe["retrieval"])


def test_leave_one_subject_out_says_why_it_cannot_measure_it(tmp_path, make_features, make_config):
    run = run_experiment(
        make_config(epochs=1), make_features(subjects=3, per_subject=4), tmp_path, progress=False
    )
    heldout = run.metrics["identity_heldout"]
    assert heldout["available"] is False and "one subject" in heldout["reason"]
