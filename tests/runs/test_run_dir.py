"""The run folder: fold folders written atomically, readable like any file the user creates."""

from __future__ import annotations

import os

import numpy as np

from lfd_tcmen.core.files import atomic_write_text
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.runs import run_dir
from lfd_tcmen.training.fold import train_fold


def test_results_are_written_with_normal_permissions_and_read_back(tmp_path, features, make_config):
    config = make_config(epochs=1)
    fold = loso_folds(features.subjects)[0]
    result = train_fold(features, fold, config, seed=0, progress=False)["honest"]
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        final = run_dir.save_fold(tmp_path / "run", result, features, config, {}, fold)
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.txt").read_text() == "x" and not list(tmp_path.glob(".a.txt.*"))
    assert final == run_dir.fold_dir(tmp_path / "run", fold.name)
    assert final.stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in final.iterdir())
    assert run_dir.finished_folds(tmp_path / "run") == ["toy__s0"]
    record = run_dir.read_fold(tmp_path / "run", fold.name)
    np.testing.assert_array_equal(record.probs, result.probs)
    assert record.info["epoch"] == 1 and record.model_path.is_file()
