"""Runs: resume equals an uninterrupted run, refusal to overwrite, outputs, leaky labelling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.runs.experiment import run_experiment

OUTPUTS = ("config.yaml", "metrics.json", "folds.md", "confusion.png", "curves.png", "embedding.png")


def _comparable(metrics: dict) -> dict:
    """Everything but timings."""
    out = {k: v for k, v in metrics.items() if k != "train_wall_s"}
    out["per_fold"] = [{k: v for k, v in row.items() if k != "wall_s"} for row in metrics["per_fold"]]
    return out


def _predictions(path) -> list[str]:
    return path.read_text().splitlines()


def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path, make_features, make_config):
    features = make_features(subjects=3, per_subject=6)
    config = make_config(epochs=2)
    full = run_experiment(config, features, tmp_path / "full", progress=False)
    assert full.folds_trained == ["toy/s0", "toy/s1", "toy/s2"]

    # a run killed during its second fold keeps the first one only
    batches = {"n": 0}

    def die_in_second_fold(idx: np.ndarray) -> None:
        batches["n"] += 1
        if batches["n"] > 4:  # 2 epochs x 2 batches per fold
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, features, tmp_path / "cut", progress=False, on_batch=die_in_second_fold)
    folds = sorted(p.name for p in (tmp_path / "cut" / "folds").iterdir())
    assert folds == ["toy__s0"]  # no half-written fold left behind
    resumed = run_experiment(config, features, tmp_path / "cut", resume=True, progress=False)
    assert resumed.folds_kept == ["toy/s0"] and resumed.folds_trained == ["toy/s1", "toy/s2"]
    assert _comparable(resumed.metrics) == _comparable(full.metrics)
    assert _predictions(tmp_path / "cut" / "predictions.csv") == _predictions(
        tmp_path / "full" / "predictions.csv"
    )

    # one fold selected by name, then --resume for the rest
    first = run_experiment(config, features, tmp_path / "parts", fold_names=["s2"], progress=False)
    assert first.folds_trained == ["toy/s2"] and first.metrics["folds_done"] == 1
    rest = run_experiment(config, features, tmp_path / "parts", resume=True, progress=False)
    assert rest.folds_kept == ["toy/s2"]
    assert _comparable(rest.metrics) == _comparable(full.metrics)


def test_existing_run_is_not_overwritten_and_resume_checks_the_config(tmp_path, features, make_config):
    config = make_config(epochs=1)
    run_experiment(config, features, tmp_path, fold_names=["toy/s0"], progress=False)
    with pytest.raises(LFDError, match="--resume"):
        run_experiment(config, features, tmp_path, progress=False)
    with pytest.raises(LFDError, match="train.epochs"):
        run_experiment(make_config(epochs=2), features, tmp_path, resume=True, progress=False)
    with pytest.raises(LFDError, match="unknown fold"):
        run_experiment(config, features, tmp_path, fold_names=["nobody"], resume=True, progress=False)
    # a code update that changed the model's parameters since the folds were trained
    info = json.loads((tmp_path / "run.json").read_text())
    info["model_signature"] = "0" * 16
    (tmp_path / "run.json").write_text(json.dumps(info))
    with pytest.raises(LFDError, match="not the one this run's folds were trained with"):
        run_experiment(config, features, tmp_path, resume=True, progress=False)


def test_outputs_exist_and_metrics_have_the_promised_keys(tmp_path, features, make_config):
    summary = run_experiment(
        make_config(epochs=2, probe_folds=4), features, tmp_path, progress=False, preprocess={"face_size": 16}
    )
    for name in OUTPUTS:
        assert (tmp_path / name).is_file(), name
    for fold in ("toy__s0", "toy__s3"):
        for name in ("model.pt", "predictions.csv", "history.json"):
            assert (tmp_path / "folds" / fold / name).is_file()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(summary.metrics))
    assert metrics["protocol"] == "honest"
    assert set(metrics["overall"]) == {"uf1", "uar", "accuracy", "n"}
    assert metrics["overall"]["n"] == len(features)
    assert [f["fold"] for f in metrics["per_fold"]] == ["toy/s0", "toy/s1", "toy/s2", "toy/s3"]
    assert set(metrics["per_dataset"]) == {"toy"}
    leak = metrics["identity_leakage"]
    assert leak["available"] and leak["folds"] == 4
    for code in ("motion", "identity"):
        assert 0.0 <= leak[code]["accuracy"] <= 1.0
        assert leak[code]["chance"] == pytest.approx(1 / 3)  # 3 training subjects of 6 samples

    # pooled scores agree with the predictions file
    rows = (tmp_path / "predictions.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[:5] == ["dataset", "subject", "sample", "label", "pred"]
    assert header[5:8] == ["p_negative", "p_positive", "p_surprise"]
    cells = [r.split(",") for r in rows[1:]]
    correct = sum(c[3] == c[4] for c in cells)
    assert metrics["overall"]["accuracy"] == pytest.approx(correct / len(features))
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 2 and saved["model"]["name"] == "lfd_tcmen"

    ckpt = load_checkpoint(tmp_path / "folds" / "toy__s1" / "model.pt")
    assert ckpt.spec.num_subjects == 3 and ckpt.class_names == features.class_names
    assert ckpt.preprocess == {"face_size": 16} and ckpt.extra["fold"] == "toy/s1"


def test_leaky_mode_is_labelled_in_every_output(tmp_path, features, make_config):
    run_experiment(make_config(epochs=2, protocol="leaky-best-epoch"), features, tmp_path, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["protocol"] == "leaky-best-epoch"
    assert "leaky" in metrics["note"]
    assert not (tmp_path / "predictions.csv").exists()
    rows = (tmp_path / "predictions_leaky-best-epoch.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "protocol"
    assert all(r.endswith(",leaky-best-epoch") for r in rows[1:])
    assert "leaky-best-epoch protocol" in (tmp_path / "folds.md").read_text().splitlines()[0]
    history = json.loads((tmp_path / "folds" / "toy__s0" / "history.json").read_text())
    assert history["protocol"] == "leaky-best-epoch"
    assert all("test_accuracy" in row for row in history["history"])


def test_probe_folds_limits_the_probe_to_evenly_spread_folds(tmp_path, features, make_config):
    from lfd_tcmen.data.splits import loso_folds
    from lfd_tcmen.runs.folds import probed_folds

    folds = loso_folds([f"d/s{i:02d}" for i in range(10)])
    assert probed_folds(folds, 0) == set() and probed_folds(folds, 10) == {f.name for f in folds}
    assert probed_folds(folds, 3) == {"d/s00", "d/s03", "d/s06"}
    summary = run_experiment(make_config(epochs=1, probe_folds=2), features, tmp_path, progress=False)
    leak = summary.metrics["identity_leakage"]
    assert leak["available"] and leak["folds"] == 2
    probed = [
        json.loads((tmp_path / "folds" / d / "history.json").read_text())["identity_leakage"] is not None
        for d in ("toy__s0", "toy__s1", "toy__s2", "toy__s3")
    ]
    assert probed == [True, False, True, False]


def test_subject_kfold_split_keeps_subjects_apart(features):
    from lfd_tcmen.config.experiment import DataConfig
    from lfd_tcmen.runs.folds import make_folds, select_folds

    folds = make_folds(features, DataConfig(split="kfold", k=2), seed=0)
    assert [f.name for f in folds] == ["fold00", "fold01"]
    for fold in folds:
        train_subjects = {features.subjects[i] for i in fold.train}
        test_subjects = {features.subjects[i] for i in fold.test}
        assert not train_subjects & test_subjects and len(test_subjects) == 2
    assert select_folds(folds, ["fold01"]) == [folds[1]]
    with pytest.raises(LFDError, match="data.k"):
        make_folds(features, DataConfig(split="kfold", k=9))


def test_a_model_with_one_code_gets_its_probe_but_no_embedding(tmp_path, features, make_config):
    config = make_config(epochs=1, probe_folds=4).override(model="ststnet")  # returns a motion code only
    summary = run_experiment(config, features, tmp_path, fold_names=["toy/s0", "toy/s1"], progress=False)
    leak = summary.metrics["identity_leakage"]
    assert leak["available"] and leak["folds"] == 2 and "motion" in leak and "identity" not in leak
    assert summary.metrics["model"] == "ststnet" and summary.metrics["overall"]["n"] == 12
    assert (tmp_path / "confusion.png").is_file() and not (tmp_path / "embedding.png").exists()


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip(path, at: float = 0.5, n: int = 16) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    data[start : start + n] = bytes(b ^ 0xFF for b in data[start : start + n])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, file, why",
    [
        (_truncate, "predictions.csv", "predictions.csv"),
        (lambda p: p.write_text(""), "predictions.csv", "predictions.csv"),
        (_truncate, "arrays.npz", "unreadable"),
        (_flip, "model.pt", "model.pt is damaged|unreadable"),
        (lambda p: p.write_text('{"fold": "toy/s9"}'), "history.json", "does not describe fold toy/s1"),
    ],
    ids=["truncated-csv", "empty-csv", "truncated-npz", "flipped-model", "other-fold-history"],
)
def test_resume_verifies_every_kept_fold_and_retrains_a_damaged_one(
    tmp_path, make_features, make_config, capsys, damage, file, why
):
    """Issue 13.10: resume used to keep a truncated predictions.csv (or any damaged fold file)."""
    features = make_features(subjects=3, per_subject=6)
    config = make_config(epochs=1)
    full = run_experiment(config, features, tmp_path / "run", progress=False)
    expected = _predictions(tmp_path / "run" / "predictions.csv")
    damage(tmp_path / "run" / "folds" / "toy__s1" / file)
    capsys.readouterr()
    again = run_experiment(config, features, tmp_path / "run", resume=True, progress=False)
    err = capsys.readouterr().err
    assert again.folds_trained == ["toy/s1"] and again.folds_kept == ["toy/s0", "toy/s2"]
    assert "warning:" in err and "toy__s1" in err and "retraining the fold" in err
    assert any(part in err for part in why.split("|")), err
    assert _predictions(tmp_path / "run" / "predictions.csv") == expected
    assert _comparable(again.metrics) == _comparable(full.metrics)
