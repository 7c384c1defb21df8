"""Declared ensembles (``runs.ensemble``, ``lfd-tcmen ensemble``): members averaged per sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import csv_text
from lfd_tcmen.evaluation.scoring import score_file
from lfd_tcmen.runs.ensemble import write_declared_ensemble

CLASSES = ("negative", "positive", "surprise")
LABELS = [0, 1, 2, 0, 1, 2, 0, 0]


def write_run(folder: Path, probs: np.ndarray, labels=LABELS, classes=CLASSES) -> Path:
    """A run folder's predictions.csv: sample k of subject s{k % 4}, with these probabilities."""
    rows = []
    for k, (label, p) in enumerate(zip(labels, probs, strict=True)):
        row = {"dataset": "casme2", "subject": f"s{k % 4}", "sample": f"casme2/s{k % 4}/clip{k}"}
        row.update({"label": label, "pred": int(np.argmax(p))})
        row.update({f"p_{c}": f"{v:.6f}" for c, v in zip(classes, p, strict=True)})
        row.update({"fold": f"casme2/s{k % 4}", "protocol": "honest"})
        rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predictions.csv").write_text(csv_text(rows))
    return folder


def onehot(preds: list[int], strength: float = 0.8) -> np.ndarray:
    out = np.full((len(preds), 3), (1 - strength) / 2)
    out[np.arange(len(preds)), preds] = strength
    return out


def test_members_weigh_the_same_and_seeds_are_averaged_first(tmp_path: Path) -> None:
    # member A: two seeds that disagree on sample 0; member B: one seed
    a = tmp_path / "a"
    write_run(a / "seed0", onehot([1, 1, 2, 0, 1, 2, 0, 0], 0.9))
    write_run(a / "seed1", onehot([0, 1, 2, 0, 1, 2, 0, 0], 0.5))
    b = write_run(tmp_path / "b", onehot([2, 0, 2, 0, 1, 1, 0, 1], 0.6))
    metrics = write_declared_ensemble([a, b], tmp_path / "ens")
    assert [m["seeds"] for m in metrics["members"]] == [2, 1]
    # sample 0: A = mean(0.05/0.9/0.05, 0.5/0.25/0.25) = (.275, .575, .15); B = (.2, .2, .6)
    # ensemble = (.2375, .3875, .375) -> positive, though B alone says surprise
    rows = (tmp_path / "ens" / "predictions.csv").read_text().splitlines()
    assert rows[1].startswith("casme2,s0,casme2/s0/clip0,0,1,0.237500,0.387500,0.375000")
    table, _ = score_file(tmp_path / "ens" / "predictions.csv")
    assert table["overall"]["uf1"] == pytest.approx(metrics["overall"]["uf1"])
    assert table["overall"]["n"] == 8


def test_the_cli_writes_a_run_that_compare_reads(tmp_path: Path, capsys) -> None:
    a = write_run(tmp_path / "a", onehot([0, 1, 2, 0, 1, 2, 0, 1]))
    b = write_run(tmp_path / "b", onehot([0, 1, 1, 0, 1, 2, 0, 0]))
    assert main(["ensemble", str(a), str(b), "--out", str(tmp_path / "ens"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["kind"].startswith("declared ensemble")
    assert main(["compare", str(a), str(tmp_path / "ens"), "--resamples", "50"]) == 0
    assert "B: " + str(tmp_path / "ens") in capsys.readouterr().out


def test_members_on_other_samples_or_classes_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", onehot(LABELS))
    fewer = write_run(tmp_path / "fewer", onehot(LABELS[:6]), labels=LABELS[:6])
    with pytest.raises(LFDError, match="test samples differ"):
        write_declared_ensemble([a, fewer], tmp_path / "ens")
    other = write_run(tmp_path / "other", onehot(LABELS), classes=("neg", "pos", "sur"))
    with pytest.raises(LFDError, match="classes"):
        write_declared_ensemble([a, other], tmp_path / "ens")
    with pytest.raises(LFDError, match="at least two"):
        write_declared_ensemble([a], tmp_path / "ens")


def test_members_beside_the_ensemble_are_named_by_folder_wherever_the_runs_are_reached_from(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "results" / "runs"
    a = write_run(runs / "a__honest", onehot([0, 1, 2, 0, 1, 2, 0, 1]))
    elsewhere = write_run(tmp_path / "other" / "b__honest", onehot([0, 1, 1, 0, 1, 2, 0, 0]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "runs").symlink_to(runs)  # as benchmarks/rows_table.sh reaches the filed runs
    metrics = write_declared_ensemble(
        [scratch / "runs" / "a__honest", elsewhere], scratch / "runs" / "ens__honest"
    )
    assert [m["run"] for m in metrics["members"]] == ["a__honest", str(elsewhere)]
    assert (runs / "ens__honest" / "metrics.json").is_file() and a.is_dir()
