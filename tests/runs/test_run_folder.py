"""The complete run folder: provenance in run.json, per-class scores and confusion counts in
metrics.json, history.csv beside history.json, TensorBoard only when asked for, and the partial
mark on every output of an incomplete run."""

from __future__ import annotations

import csv
import importlib
import json
import sys
import types

import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.report.provenance import cpu_model
from lfd_tcmen.report.summary import per_class_scores
from lfd_tcmen.report.tensorboard import write_events
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.features import load_features
from lfd_tcmen.version import __version__
from toys import make_config, make_features, write_store

COMMAND = ["lfd-tcmen", "train", "--config", "toy.yaml", "--folds", "toy/s0,toy/s1"]


@pytest.fixture(scope="module")
def partial_then_full(tmp_path_factory):
    """A 3-subject store loaded from a RELATIVE path; 2 of 3 folds, then --resume for the third.
    Yields (run folder, the files of the partial run as text, the store's absolute path)."""
    root = tmp_path_factory.mktemp("run_folder")
    store = write_store(root / "store", make_features(subjects=3, per_subject=6))
    config = make_config(epochs=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(sys, "argv", COMMAND)
        features = load_features(config.data, "store")
        out = root / "run"
        run_experiment(config, features, out, fold_names=["toy/s0", "toy/s1"], progress=False)
        partial = {
            name: (out / name).read_text(encoding="utf-8")
            for name in ("run.json", "metrics.json", "folds.md", "report.html")
        }
        run_experiment(config, features, out, resume=True, progress=False)
    yield out, partial, store


def test_run_json_records_provenance(partial_then_full):
    out, _, store = partial_then_full
    info = json.loads((out / "run.json").read_text())
    p = info["provenance"]
    assert p["package_version"] == __version__
    assert p["command"] == COMMAND
    assert p["data_path"] == str(store.resolve()) and p["data_fingerprint"] == info["fingerprint"]
    assert set(p["libraries"]) >= {"torch", "numpy", "opencv"}
    assert p["libraries"]["numpy"] == np.__version__
    assert p["host"]["cpu_cores"] >= 1 and p["host"]["cpu"] == cpu_model()
    assert p["started"] <= p["finished"]
    assert p["git_commit"] is None or len(p["git_commit"]) == 40


def test_per_class_scores_equal_a_hand_computation():
    # rows: true class, columns: predicted
    cm = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 0]])
    rows = per_class_scores(cm, ["negative", "positive", "surprise"])
    assert rows[0] == {
        "class": "negative", "precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
        "support": 3, "tp": 2, "fp": 0, "fn": 1,
    }  # fmt: skip
    assert (rows[1]["precision"], rows[1]["recall"], rows[1]["f1"]) == (0.5, 0.5, 0.5)
    # predicted once, never true: precision 0, F1 0, no recall
    assert (rows[2]["precision"], rows[2]["recall"], rows[2]["f1"], rows[2]["fp"]) == (0.0, None, 0.0, 1)


def test_metrics_hold_per_class_scores_and_confusion_counts_of_the_predictions(partial_then_full):
    out, _, _ = partial_then_full
    metrics = json.loads((out / "metrics.json").read_text())
    with (out / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    c = len(metrics["class_names"])
    counts = np.zeros((c, c), dtype=int)
    for r in rows:
        counts[int(r["label"]), int(r["pred"])] += 1
    assert metrics["confusion"]["counts"] == counts.tolist()
    assert metrics["confusion"]["classes"] == metrics["class_names"]
    for k, row in enumerate(metrics["per_class"]):
        tp, fp, fn = counts[k, k], counts[:, k].sum() - counts[k, k], counts[k].sum() - counts[k, k]
        assert (row["class"], row["tp"], row["fp"], row["fn"]) == (metrics["class_names"][k], tp, fp, fn)
        assert row["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert np.mean([r["f1"] for r in metrics["per_class"]]) == pytest.approx(metrics["overall"]["uf1"])


def test_history_csv_equals_history_json(partial_then_full):
    out, _, _ = partial_then_full
    folds = sorted((out / "folds").iterdir())
    assert len(folds) == 3
    for fold in folds:
        history = json.loads((fold / "history.json").read_text())["history"]
        with (fold / "history.csv").open() as fh:
            table = list(csv.DictReader(fh))
        assert len(table) == len(history) > 0
        for row, epoch in zip(table, history):
            assert set(row) == set(epoch)
            assert all(float(row[k]) == pytest.approx(float(v)) for k, v in epoch.items())


def test_an_incomplete_run_says_so_everywhere_and_a_complete_one_nowhere(partial_then_full):
    out, partial, _ = partial_then_full
    assert json.loads(partial["run.json"])["partial"] is True
    metrics = json.loads(partial["metrics.json"])
    assert metrics["partial"] is True and metrics["scope"] == "2 of 3 folds (partial)"
    for name in ("folds.md", "report.html"):
        assert "2 of 3 folds" in partial[name], name
    assert "PARTIAL RUN" in partial["report.html"]
    for name in ("run.json", "metrics.json"):
        assert "partial" not in json.loads((out / name).read_text()), name
    for name in ("folds.md", "report.html"):
        assert "(partial)" not in (out / name).read_text() and "PARTIAL" not in (out / name).read_text()


def test_tensorboard_is_refused_in_one_line_before_training_when_missing(tmp_path, monkeypatch):
    real = importlib.import_module

    def without_tensorboard(name, *args):
        if "tensorboard" in name:
            raise ModuleNotFoundError("No module named 'tensorboard'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_tensorboard)
    config = make_config(epochs=1, tensorboard=True)
    with pytest.raises(LFDError, match="train.tensorboard is true but TensorBoard is not installed"):
        run_experiment(config, make_features(subjects=3), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # nothing done


def test_tensorboard_events_hold_every_numeric_history_value(tmp_path, monkeypatch):
    written = []

    class Writer:  # stands in for torch.utils.tensorboard.SummaryWriter
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            written.append((self.log_dir, tag, value, step))

        def close(self):
            pass

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    history = [{"epoch": 1, "train_loss": 1.5, "lr": 0.01}, {"epoch": 2, "train_loss": 1.0, "lr": 0.005}]
    root = write_events(tmp_path, [("toy/s0", history)])
    assert written[0] == (str(root / "toy__s0"), "train_loss", 1.5, 1)
    assert len(written) == 4


def test_cpu_model_reads_the_first_model_name_and_is_none_where_unknown(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\n\nprocessor\t: 1\nmodel name\t: x\n")
    assert cpu_model(info) == "AMD EPYC 9R14"
    monkeypatch.setattr("platform.processor", lambda: "")
    assert cpu_model(tmp_path / "missing") is None
