"""benchmarks/one_seed.sh: one seed of one row, trained alone and filed into the row's seed folders
only when every fold is done."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from toys import write_composite

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CONFIG": "benchmarks/synthetic_tiny.yaml",
        "RUNS": str(tmp_path / "runs"),
        "OUT": str(tmp_path / "scratch"),
        "WORKERS": "1",
        **env,
    }
    return subprocess.run(
        ["bash", f"benchmarks/{script}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return _run("one_seed.sh", tmp_path, *args)


def test_a_seed_is_filed_only_when_every_fold_is_done_and_only_once(tmp_path):
    data = write_composite(tmp_path / "composite", ("sub01", "sub02", "sub03"))
    partial = _script(tmp_path, "ststnet", "7", "--data", str(data), "--folds", "sub01")
    assert partial.returncode == 1 and "has 1 of 3 folds" in partial.stderr
    assert not (tmp_path / "runs").exists()

    done = _script(tmp_path, "ststnet", "7", "--data", str(data))  # resumes the scratch folder
    assert done.returncode == 0, done.stderr
    for protocol, name in (
        ("honest", "predictions.csv"),
        ("leaky-best-epoch", "predictions_leaky-best-epoch.csv"),
    ):
        seed = tmp_path / "runs" / f"ststnet__{protocol}" / "seed7"
        metrics = json.loads((seed / "metrics.json").read_text())
        assert (metrics["folds_done"], metrics["seed"]) == (3, 7)
        assert (seed / name).is_file() and not (seed / ".lfd-tcmen.lock").exists()
        assert f"{seed}: UF1 {metrics['overall']['uf1']:.4f}" in done.stdout

    again = _script(tmp_path, "ststnet", "7", "--data", str(data))
    assert again.returncode == 0 and "already filed" in again.stderr

    # Stopped between its two moves: one protocol filed, the other still in the scratch folder.
    leaky = tmp_path / "runs" / "ststnet__leaky-best-epoch" / "seed7"
    leaky.rename(tmp_path / "scratch" / "runs" / "ststnet__leaky-best-epoch")
    rest = _script(tmp_path, "ststnet", "7", "--data", str(data))
    assert rest.returncode == 0, rest.stderr
    assert f"{leaky}: UF1" in rest.stdout and "already filed" not in rest.stderr
    assert (leaky / "metrics.json").is_file()
    assert not list((tmp_path / "scratch" / "runs").iterdir())  # moved, nothing trained again


def test_several_rows_train_together_and_each_is_filed(tmp_path):
    """ROW may be a comma-separated list: the rows train in one benchmark (both workers busy to the
    end), and each is filed on its own; a row already filed is not trained again."""
    data = write_composite(tmp_path / "composite", ("sub01", "sub02"))
    first = _script(tmp_path, "ststnet", "3", "--data", str(data))
    assert first.returncode == 0, first.stderr
    both = _script(tmp_path, "ststnet,no_drl", "3", "--data", str(data))
    assert both.returncode == 0, both.stderr
    assert (tmp_path / "runs" / "no_drl__honest" / "seed3" / "predictions.csv").is_file()
    assert "no_drl__honest/seed3: UF1" in both.stdout and "ststnet__" not in both.stdout  # filed before


def test_usage_is_one_line(tmp_path):
    done = _script(tmp_path, "ststnet")
    assert done.returncode == 2 and done.stderr.startswith("usage: bash benchmarks/one_seed.sh ROW[,ROW...]|all SEED")


def test_rows_table_builds_a_rows_table_from_its_filed_seeds(tmp_path):
    data = write_composite(tmp_path / "composite", ("sub01", "sub02", "sub03"))
    for seed in ("7", "8"):
        assert _script(tmp_path, "ststnet", seed, "--data", str(data)).returncode == 0
        (tmp_path / "scratch").rename(tmp_path / f"scratch{seed}")  # each seed its own scratch
    table = _run(
        "rows_table.sh", tmp_path, "ststnet", "--seeds", "7,8", "--data", str(data), "--resamples", "50"
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("<!-- bash benchmarks/rows_table.sh ststnet --seeds 7,8")
    summary = json.loads((tmp_path / "runs" / "ststnet__honest" / "seeds.json").read_text())
    assert summary["seeds"] == [7, 8]
    mean, sd = summary["mean"]["uf1"], summary["sd"]["uf1"]
    assert f"| {mean:.4f} ± {sd:.4f} |" in table.stdout
    assert (
        f"| {summary['ensemble']['uf1']:.4f} " in table.stdout and "ststnet (seed ensemble)" in table.stdout
    )

    missing = _run("rows_table.sh", tmp_path, "ststnet", RUNS=str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.startswith("rows_table.sh: no run folders at")
