"""``lfd-tcmen train`` with the cross-dataset splits and ``lfd-tcmen evaluate``, on toy stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lfd_tcmen.cli import main
from toys import SMALL_MODEL, make_datasets, make_features, write_store


def config_file(folder: Path, store: Path, split: str) -> Path:
    path = folder / f"{split}.yaml"
    config = {
        "name": f"toy_{split}",
        "data": {"source": "store", "path": str(store), "face_size": 16, "flow_size": 8, "split": split},
        "model": {"name": "lfd_tcmen", "params": SMALL_MODEL},
        "train": {"epochs": 1, "batch_size": 8, "threads": 1},
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def composite(tmp_path_factory) -> Path:
    """A store of three datasets (as the MEGC2019 composite holds SMIC, CASME II and SAMM)."""
    return write_store(tmp_path_factory.mktemp("c") / "composite", make_datasets())


@pytest.fixture(scope="module")
def trained(composite, tmp_path_factory) -> Path:
    """``lfd-tcmen train`` with data.split: all."""
    folder = tmp_path_factory.mktemp("all")
    argv = ["train", "--config", str(config_file(folder, composite, "all")), "--out", str(folder / "run")]
    assert main([*argv, "--no-progress"]) == 0
    return folder / "run"


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> Path:
    return write_store(
        tmp_path_factory.mktemp("o") / "casme3", make_datasets(("casme3",), subjects=3, seed=5)
    )


def test_list_folds_of_lodo_names_the_datasets(composite, tmp_path, capsys):
    assert main(["train", "--config", str(config_file(tmp_path, composite, "lodo")), "--list-folds"]) == 0
    assert capsys.readouterr().out.split() == ["casme2", "samm", "smic"]


def test_train_split_all_says_there_is_nothing_to_score(composite, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", str(config_file(tmp_path, composite, "all")), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no test samples" in printed and str(out / "folds" / "all" / "model.pt") in printed
    assert main(["score", str(out / "predictions.csv")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no test samples" in line and "lfd-tcmen evaluate" in line


def test_evaluate_writes_predictions_that_score_reads(trained, other, capsys):
    assert main(["evaluate", str(trained), "--store", str(other), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    out = trained / "evaluate" / "casme3"
    assert result["out"] == str(out) and result["overall"]["n"] == 12
    assert result["checkpoints"] == [str(trained / "folds" / "all" / "model.pt")]
    assert main(["score", str(out / "predictions.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"] == result["overall"]
    assert main(["evaluate", str(trained / "folds" / "all" / "model.pt"), "--store", str(other)]) == 0
    printed = capsys.readouterr().out
    assert "| casme3" in printed and "UF1" in printed and f"in {out}" in printed


@pytest.mark.parametrize("case", ["classes", "store", "checkpoint", "unlabelled"])
def test_evaluate_errors_are_one_line(case, trained, other, tmp_path, capsys):
    store, model = other, trained
    if case == "classes":
        store = write_store(tmp_path / "four", make_features(classes=4))
    elif case == "store":
        store = tmp_path / "nowhere"
    elif case == "checkpoint":
        model = tmp_path / "missing.pt"
    else:
        store = write_store(tmp_path / "unlabelled", make_features())
        manifest = json.loads((store / "manifest.json").read_text())
        manifest["samples"][0]["label"] = None
        (store / "manifest.json").write_text(json.dumps(manifest))
    assert main(["evaluate", str(model), "--store", str(store), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    expected = {
        "classes": "the classes differ",
        "store": "no manifest.json",
        "checkpoint": "no such checkpoint or run folder",
        "unlabelled": "1 of the store's 24 samples have no label",
    }[case]
    assert line.startswith("lfd-tcmen: error:") and expected in line
