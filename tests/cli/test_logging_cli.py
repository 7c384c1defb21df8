"""Status lines through ``logging``: each run folder's ``run.log``, ``-v`` and ``-q`` (issue 34.12)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from lfd_tcmen.cli import main
from toys import SMALL_MODEL, make_features, write_store

# run.log's lines: "2026-12-04 10:00:00 INFO    message"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) +(.*)$")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-subject toy store and a 2-epoch config on it (a second a fold)."""
    root = tmp_path_factory.mktemp("logs")
    store = write_store(root / "store", make_features(subjects=3, per_subject=4))
    path = root / "toy.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "toy",
                "seed": 3,
                "data": {"source": "store", "path": str(store), "face_size": 16, "flow_size": 8},
                "model": {"name": "lfd_tcmen", "params": SMALL_MODEL},
                "train": {"epochs": 2, "batch_size": 8, "lr": 0.003, "threads": 1},
            }
        )
    )
    return path


def _log(folder: Path) -> list[tuple[str, str]]:
    """(level, message) of each record in ``folder/run.log`` (a traceback's lines go with theirs)."""
    records = []
    for line in (folder / "run.log").read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match:
            records.append(match.groups())
        else:
            assert records, line
    return records


def test_run_log_holds_the_command_its_settings_every_fold_and_the_scores(config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    printed, shown = capsys.readouterr()
    metrics = json.loads((out / "metrics.json").read_text())
    records = _log(out)
    messages = [message for _, message in records]
    assert messages[0].endswith(f"lfd-tcmen train --config {config} --out {out} --no-progress")
    assert shown.strip() in messages  # the console's opening line, logged before the folder existed
    assert any(m.startswith(f"{out}: toy (model lfd_tcmen, protocol honest, seed 3)") for m in messages)
    done = [
        m
        for m in messages
        if re.match(r"fold toy/s\d done in \d+\.\d s: epoch 2 of 2 kept, 4 test samples", m)
    ]
    assert len(done) == 3 == metrics["folds_done"]
    epochs = [m for level, m in records if level == "DEBUG" and re.match(r"fold toy/s\d epoch \d, lr ", m)]
    assert len(epochs) == 6  # 3 folds x 2 epochs, each with its losses
    assert "train_loss" in epochs[0] and "train_accuracy" in epochs[0]
    o = metrics["overall"]
    assert (
        messages[-1]
        == f"{out}: UF1 {o['uf1']:.4f}, UAR {o['uar']:.4f}, accuracy {o['accuracy']:.4f}, n 12; folds 3/3"
    )
    assert f"UF1 {o['uf1']:.4f}" in printed  # the result stays on stdout
    # a resumed run appends to its log
    assert main(["train", "--config", str(config), "--out", str(out), "--resume", "--no-progress"]) == 0
    again = [m for _, m in _log(out)]
    assert again[: len(messages)] == messages and "resuming" in " ".join(again[len(messages) :])


def test_quiet_shows_only_the_result_and_verbose_adds_the_debug_lines(config, tmp_path, capfd):
    base = ["train", "--config", str(config), "--folds", "toy/s0"]
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    out, err = capfd.readouterr()
    assert "toy: lfd_tcmen on 12 samples" in err and re.search(r"1/1 fold \(100%\)", err)  # header, progress
    assert "epoch" not in err
    assert main([*base, "--out", str(tmp_path / "quiet"), "-q"]) == 0
    quiet_out, quiet_err = capfd.readouterr()
    assert quiet_err == "" and "UF1" in quiet_out
    assert main(["-v", *base, "--out", str(tmp_path / "verbose")]) == 0
    verbose_out, verbose_err = capfd.readouterr()
    assert "toy: lfd_tcmen on 12 samples" in verbose_err
    assert re.search(r"^fold toy/s0 epoch 2, lr ", verbose_err, re.M)  # the debug lines, on the console too
    scores = [
        [line for line in o.splitlines() if line.startswith("UF1")] for o in (out, quiet_out, verbose_out)
    ]
    assert len(scores[0]) == 1 and scores[0] == scores[1] == scores[2]  # the result, whatever the level
    # -q silences the console only: the quiet run's log is as full as the others
    assert [level for level, _ in _log(tmp_path / "quiet")].count("DEBUG") >= 2


def test_quiet_and_verbose_exclude_each_other(capsys):
    assert main(["-q", "config", "list", "-v"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_a_seeds_run_logs_each_seed_apart_and_all_of_them_above(config, tmp_path, capsys):
    out = tmp_path / "seeds"
    argv = ["train", "--config", str(config), "--out", str(out), "--seeds", "0,1", "--folds", "toy/s1", "-q"]
    assert main(argv) == 0
    for k in (0, 1):
        own = [m for _, m in _log(out / f"seed{k}")]
        assert any(
            m.startswith(f"{out / f'seed{k}'}: toy (model lfd_tcmen, protocol honest, seed {k})") for m in own
        )
        assert not any(str(out / f"seed{1 - k}") in m for m in own)
    assert sum(m.startswith("fold toy/s1 done") for _, m in _log(out)) == 2
