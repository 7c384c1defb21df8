"""Nested selection (protocol honest-nested): the stopping epoch is chosen on the fold's training
subjects only; the test subject never enters a batch, and changing it changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.runs.experiment import RunPlan, fold_task, run_experiment
from lfd_tcmen.runs.folds import fold_seed
from lfd_tcmen.training.fold import train_fold
from lfd_tcmen.training.select import config_at, grid_points, inner_folds, select_setting
from toys import scramble_test_subject


def test_inner_folds_split_the_training_subjects_only(make_features):
    features = make_features(subjects=5, per_subject=4)
    fold = loso_folds(features.subjects)[2]
    inner = inner_folds(features, fold, k=3, seed=0)
    assert len(inner) == 3
    tested = [i for f in inner for i in f.test]
    assert sorted(tested) == sorted(fold.train)  # every training sample validated once
    for f in inner:
        assert not set(f.train) & set(f.test) and not (set(f.train) | set(f.test)) & set(fold.test)
        assert {features.subjects[i] for i in f.test}.isdisjoint(features.subjects[i] for i in f.train)


def test_nested_selection_never_sees_the_test_subject(make_features, make_config, tmp_path):
    features = make_features(subjects=4, per_subject=6)
    config = make_config(epochs=3, protocol="honest-nested", select_k=3)
    fold = loso_folds(features.subjects)[1]
    plan = RunPlan.single(config, tmp_path)
    seen: list[np.ndarray] = []
    result = fold_task(features, plan, fold, False, False, seen.append)["honest-nested"]
    assert not set(np.concatenate(seen).tolist()) & set(fold.test)
    assert 1 <= result.epoch <= 3 and result.selection["k"] == 3 and len(result.selection["inner_uf1"]) == 3

    altered = scramble_test_subject(features, fold, seed=5)
    again = fold_task(altered, plan, fold, False, False, None)["honest-nested"]
    assert again.selection == result.selection and again.epoch == result.epoch
    assert all(torch.equal(again.state_dict[k], result.state_dict[k]) for k in result.state_dict)


def test_the_chosen_epoch_is_the_model_at_that_epoch_of_the_same_training(features, make_config):
    config = make_config(epochs=3)
    fold = loso_folds(features.subjects)[0]
    both = train_fold(
        features, fold, config, 4, protocols=("honest", "honest-nested"), progress=False, chosen_epoch=3
    )
    assert all(
        torch.equal(both["honest"].state_dict[k], v) for k, v in both["honest-nested"].state_dict.items()
    )
    assert both["honest-nested"].epoch == 3
    chosen = select_setting(features, fold, config, 4)
    assert chosen["setting"] == {} and "grid" not in chosen
    assert (
        chosen["epoch"]
        == int(np.flatnonzero(np.array(chosen["inner_uf1"]) == max(chosen["inner_uf1"]))[-1]) + 1
    )


def test_a_nested_run_is_labelled_and_records_its_choices(make_features, make_config, tmp_path):
    features = make_features(subjects=3, per_subject=6)
    run = run_experiment(
        make_config(epochs=2, protocol="honest-nested", select_k=2), features, tmp_path, progress=False
    )
    assert run.metrics["protocol"] == "honest-nested" and "note" not in run.metrics
    info = json.loads((tmp_path / "folds" / "toy__s0" / "history.json").read_text())
    assert info["selection"]["k"] == 2 and info["epoch"] == info["selection"]["epoch"]
    assert (tmp_path / "predictions_honest-nested.csv").is_file()
    assert "cross-validation on the training subjects" in (tmp_path / "folds.md").read_text()


GRID = {"train.lr": [0.003, 0.0003], "model.params.w_identity": [0.0, 0.1]}


def test_a_grid_point_sets_train_and_model_values(make_config):
    config = make_config(protocol="honest-nested", select_grid=GRID)
    points = grid_points(config)
    assert points == [
        {"train.lr": 0.003, "model.params.w_identity": 0.0},
        {"train.lr": 0.003, "model.params.w_identity": 0.1},
        {"train.lr": 0.0003, "model.params.w_identity": 0.0},
        {"train.lr": 0.0003, "model.params.w_identity": 0.1},
    ]
    at = config_at(config, points[2])
    assert at.train.lr == 0.0003 and at.model.params["w_identity"] == 0.0
    assert {k: v for k, v in at.model.params.items() if k != "w_identity"} == {
        k: v for k, v in config.model.params.items() if k != "w_identity"
    }


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"train.epochs": [2, 3]}, "must be train"),
        ({"lr": [0.1]}, "must be train"),
        ({"train.lr": []}, "non-empty list"),
        ({"train.lr": [0.1, 0.1]}, "distinct numbers"),
        ({"model.params.a": [1, 2, 3], "model.params.b": [1, 2, 3], "train.lr": [1, 2]}, "18 combinations"),
    ],
)
def test_a_bad_grid_is_one_clear_error(make_config, grid, message):
    with pytest.raises(LFDError, match=message):
        make_config(protocol="honest-nested", select_grid=grid)


def test_the_grid_is_chosen_on_the_training_subjects_only(make_features, make_config, tmp_path):
    """Every grid point's inner trainings, and the outer one, never see the test subject; the
    test subject's data change nothing; the kept model is the chosen point's training."""
    features = make_features(subjects=4, per_subject=6)
    config = make_config(epochs=2, protocol="honest-nested", select_k=2, select_grid=GRID)
    fold = loso_folds(features.subjects)[1]
    plan = RunPlan(config, {"honest": tmp_path / "h", "honest-nested": tmp_path / "n"}, "toy")
    seen: list[np.ndarray] = []
    results = fold_task(features, plan, fold, False, False, seen.append)
    assert not set(np.concatenate(seen).tolist()) & set(fold.test)
    nested = results["honest-nested"]
    tried = nested.selection["grid"]
    assert [t["setting"] for t in tried] == grid_points(config)
    best = max(max(t["inner_uf1"]) for t in tried)
    first = next(t for t in tried if max(t["inner_uf1"]) == best)
    assert nested.selection["setting"] == first["setting"]
    assert (
        nested.epoch
        == nested.selection["epoch"]
        == max(e for e, v in enumerate(first["inner_uf1"], start=1) if v == best)
    )
    chosen = config_at(config, nested.selection["setting"])
    alone = train_fold(
        features,
        fold,
        chosen,
        fold_seed(config.seed, fold.name),
        protocols=("honest-nested",),
        progress=False,
        chosen_epoch=nested.epoch,
    )["honest-nested"]
    assert all(torch.equal(alone.state_dict[k], v) for k, v in nested.state_dict.items())

    altered = scramble_test_subject(features, fold, seed=5)
    again = fold_task(altered, plan, fold, False, False, None)["honest-nested"]
    assert again.selection == nested.selection
    assert all(torch.equal(again.state_dict[k], v) for k, v in nested.state_dict.items())
