"""``lfd-tcmen benchmark`` end to end on a tiny synthetic folder in the MEGC2019 composite layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lfd_tcmen.cli import main
from toys import write_composite

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "benchmarks" / "synthetic_tiny.yaml"
SUBJECTS = ("sub01", "sub02", "sub03")


@pytest.fixture(scope="module")
def composite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 CASME II subjects x 3 clips: the class shows in the flow's u channel."""
    return write_composite(tmp_path_factory.mktemp("composite"), SUBJECTS)


def test_list_shows_every_method_with_its_settings(composite, capsys):
    assert main(["benchmark", "--config", str(CONFIG), "--data", str(composite), "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["lfd_tcmen", "ststnet", "off_apexnet", "no_drl"]
    assert "epochs 2, lr 0.001, batch 256" in lines[1]  # default_train's batch, the method's epochs and lr
    assert "skip: not run in the tiny benchmark" in lines[2]
    assert lines[-1] == "3 folds (3 selected); protocols honest, leaky-best-epoch; seeds 1"


def test_benchmark_writes_table_runs_and_resumes(composite, tmp_path, capsys):
    out = tmp_path / "bench"
    args = [
        "benchmark",
        "--config",
        str(CONFIG),
        "--data",
        str(composite),
        "--out",
        str(out),
        "--no-progress",
    ]
    args += ["--methods", "lfd_tcmen,ststnet", "--folds", "sub01,sub03"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("| leaky-best-epoch (LEAKY) |") == 2 and printed.count("| 2/3") == 4
    assert (out / "table.md").read_text() == printed.rstrip("\n") + "\n"
    assert (out / "bars.png").stat().st_size > 1000
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == [f"{m}__{p}" for m in ("lfd_tcmen", "ststnet") for p in ("honest", "leaky-best-epoch")]
    # OUT/run.log holds every run's lines, each run folder's run.log its own (issue 34.12)
    assert (out / "run.log").read_text().count("fold casme2/sub01 done") == 4  # 2 methods x 2 protocols
    own = (out / "runs" / "ststnet__honest" / "run.log").read_text()
    assert own.count("fold casme2/sub01 done") == 1 and "lfd_tcmen__honest" not in own

    # each run's predictions are scorable on their own
    assert main(["score", str(out / "runs" / "ststnet__honest" / "predictions.csv")]) == 0
    metrics = json.loads((out / "runs" / "ststnet__honest" / "metrics.json").read_text())
    assert f"{metrics['overall']['uf1']:.4f}" in capsys.readouterr().out

    assert main(args) == 2  # finished runs are never overwritten silently
    assert "--resume" in capsys.readouterr().err
    before = (
        (out / "runs" / "lfd_tcmen__honest" / "folds" / "casme2__sub01" / "arrays.npz").stat().st_mtime_ns
    )
    assert main([*args, "--resume", "--report-only"]) == 0
    assert main([*args, "--resume"]) == 0
    after = (out / "runs" / "lfd_tcmen__honest" / "folds" / "casme2__sub01" / "arrays.npz").stat().st_mtime_ns
    assert before == after

    # --list reads how far each row is, and estimates what is left from its finished folds
    capsys.readouterr()
    listed = [*args[:-4], "--list", "--workers", "2"]
    assert main(listed) == 0
    lines = capsys.readouterr().out.splitlines()
    seconds = [
        json.loads(
            (out / "runs" / "lfd_tcmen__honest" / "folds" / f"casme2__{s}" / "history.json").read_text()
        )["wall_s"]
        for s in ("sub01", "sub03")
    ]
    assert lines[0].startswith("lfd_tcmen") and lines[0].endswith(
        f"2/3 trained, median {sum(seconds) / 2:.1f} s a fold"
    )
    assert lines[1].startswith("ststnet") and "2/3 trained" in lines[1]
    assert "skip:" in lines[2] and "trained" not in lines[2]
    assert lines[3].startswith("no_drl") and lines[3].endswith("0/3 trained")
    assert lines[4].startswith(f"{out}: 5 training(s) left; about ")
    assert lines[4].endswith(
        "on 2 worker(s) from each row's median fold time (3 in rows with no finished fold: not estimated)"
    )


def test_unknown_method_is_one_error_line(composite, capsys):
    args = ["benchmark", "--config", str(CONFIG), "--data", str(composite), "--methods", "nope"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lfd-tcmen: error: ") and "unknown method 'nope'" in err


def test_list_counts_every_seeds_trainings(composite, tmp_path, capsys):
    out = tmp_path / "bench"
    common = ["benchmark", "--config", str(CONFIG), "--data", str(composite), "--out", str(out)]
    common += ["--seeds", "0,1", "--methods", "ststnet", "--no-progress"]
    assert main([*common, "--folds", "sub02"]) == 0
    assert sorted(p.name for p in (out / "runs" / "ststnet__honest").glob("seed?")) == ["seed0", "seed1"]
    capsys.readouterr()
    assert main([*common, "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("ststnet") and " 2/6 trained, median " in lines[0]
    assert lines[1].startswith(f"{out}: 4 training(s) left; about ") and "not estimated" not in lines[1]
