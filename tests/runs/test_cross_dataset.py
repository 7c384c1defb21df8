"""Cross-dataset splits of a run: leave one dataset out, and one model trained on every subject."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lfd_tcmen.config.experiment import LEAKY
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.evaluation.scoring import score_file
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.folds import make_folds
from lfd_tcmen.runs.seeds import run_seeds
from toys import make_datasets


def split(config, name: str):
    return replace(config, data=replace(config.data, split=name))


def test_lodo_scores_each_dataset_with_a_model_of_the_others(tmp_path, make_config):
    features = make_datasets()
    config = split(make_config(epochs=1), "lodo")
    summary = run_experiment(config, features, tmp_path / "run", progress=False)
    metrics = summary.metrics
    assert summary.folds_trained == ["casme2", "samm", "smic"]
    assert [row["fold"] for row in metrics["per_fold"]] == ["casme2", "samm", "smic"]
    for row in metrics["per_fold"]:  # a fold is one dataset: its scores are that dataset's
        assert row["uf1"] == pytest.approx(metrics["per_dataset"][row["fold"]]["uf1"])
        info = json.loads((tmp_path / "run" / "folds" / row["fold"] / "history.json").read_text())
        assert info["test_subjects"] == [f"{row['fold']}/s0", f"{row['fold']}/s1"]
        assert not any(s.startswith(row["fold"] + "/") for s in info["train_subjects"])
        assert info["n_test"] == 8 and info["n_train"] == 16
    rows = score_file(tmp_path / "run" / "predictions.csv")[1].rows
    assert len(rows) == len(features)
    again = run_experiment(config, features, tmp_path / "run", resume=True, progress=False)
    assert again.folds_kept == ["casme2", "samm", "smic"] and again.metrics == metrics


def test_lodo_refuses_data_of_one_dataset(features, make_config):
    with pytest.raises(LFDError, match=r"lodo .* needs at least 2 datasets; the data hold 1 \(toy\)"):
        make_folds(features, split(make_config(), "lodo").data)


def test_split_all_trains_on_every_subject_and_scores_nothing(tmp_path, features, make_config):
    config = split(make_config(epochs=1), "all")
    out = tmp_path / "run"
    summary = run_experiment(config, features, out, progress=False)
    metrics = summary.metrics
    assert summary.folds_trained == ["all"]
    assert metrics["test_samples"] == 0 and "overall" not in metrics
    assert metrics["models"] == ["folds/all/model.pt"] and "no test samples" in metrics["note"]
    assert not list(out.rglob("predictions*.csv")) and not (out / "confusion.png").exists()
    assert (out / "curves.png").is_file() and "No test samples" in (out / "folds.md").read_text()
    ckpt = load_checkpoint(out / "folds" / "all" / "model.pt")
    assert ckpt.extra["fold"] == "all" and ckpt.extra["train_subjects"] == sorted(set(features.subjects))
    assert ckpt.spec.num_subjects == 4  # the identity head knows every subject
    with pytest.raises(LFDError, match="no test samples"):
        score_file(out / "predictions.csv")
    again = run_experiment(config, features, out, resume=True, progress=False)
    assert again.folds_kept == ["all"] and again.metrics == metrics
    with pytest.raises(LFDError, match=f"protocol {LEAKY} .* cannot run"):
        run_experiment(replace(config, train=replace(config.train, protocol=LEAKY)), features, tmp_path / "x")


def test_split_all_with_seeds_keeps_each_seeds_model_and_no_ensemble(tmp_path, features, make_config):
    config = split(make_config(epochs=1), "all")
    _, summary = run_seeds(config, features, tmp_path / "run", (0, 1), progress=False)
    assert summary["test_samples"] == 0 and "ensemble" not in summary and "mean" not in summary
    for k in (0, 1):
        assert (tmp_path / "run" / f"seed{k}" / "folds" / "all" / "model.pt").is_file()
