"""A run's progress in a log (stderr not a terminal): each fold's line names that fold."""

from __future__ import annotations

import re

from lfd_tcmen.runs.experiment import run_experiment


def test_each_line_names_the_fold_just_done_and_the_last_names_the_last(
    features, make_config, tmp_path, capfd
):
    run = run_experiment(make_config(epochs=1), features, tmp_path / "out", progress=True)
    lines = [
        m.groups()
        for m in re.finditer(r": (\d+)/(\d+) folds? \(\d+%\), \d+ s, fold=(\S+)", capfd.readouterr().err)
    ]
    folds = sorted(run.metrics["per_fold"], key=lambda r: r["fold"])
    assert len(folds) > 1 and [int(done) for done, _, _ in lines] == list(range(1, len(folds) + 1))
    named = [fold for _, _, fold in lines]
    assert sorted(named) == [r["fold"] for r in folds]  # every fold once: the last line is not the one before
