"""Several seeds of one run: each seed is a normal run, the ensemble averages their probabilities,
the spread is over seeds; resumable, and two workers give the serial numbers."""

from __future__ import annotations

import csv
import json
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.runs import run_dir
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.folds import make_folds
from lfd_tcmen.runs.seeds import run_seeds, seed_dir, seeded, summarize_seeds
from toys import make_config, make_features

FOLDS = ["toy/s0", "toy/s1", "toy/s2"]
TWO = ExecutorOptions(workers=2)


@pytest.fixture(scope="module")
def toy():
    return make_features(subjects=3, per_subject=6), make_config(epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def two_seeds(toy, tmp_path_factory):
    features, config = toy
    out = tmp_path_factory.mktemp("seeds")
    summaries, summary = run_seeds(config, features, out, [0, 5], progress=False)
    return out, summaries, summary


def _probs(path):
    with path.open() as fh:
        return {r["sample"]: [float(r[k]) for k in r if k.startswith("p_")] for r in csv.DictReader(fh)}


def test_each_seed_is_the_stand_alone_run_with_that_seed(toy, two_seeds, tmp_path):
    features, config = toy
    out, summaries, _ = two_seeds
    alone = run_experiment(seeded(config, 5), features, tmp_path, progress=False)
    assert [s.out_dir for s in summaries] == [seed_dir(out, 0), seed_dir(out, 5)]
    for fold in FOLDS:
        a = run_dir.read_fold(alone.out_dir, fold)
        b = run_dir.read_fold(seed_dir(out, 5), fold)
        np.testing.assert_array_equal(a.probs, b.probs)
    assert summaries[1].metrics["overall"] == alone.metrics["overall"]


def test_the_ensemble_averages_the_seeds_probabilities_and_the_spread_is_over_seeds(two_seeds):
    out, summaries, summary = two_seeds
    seeds = [_probs(seed_dir(out, k) / "predictions.csv") for k in (0, 5)]
    ensemble = _probs(out / "ensemble" / "predictions.csv")
    assert set(ensemble) == set(seeds[0]) and len(ensemble) == 18
    for sample, probs in ensemble.items():
        np.testing.assert_allclose(probs, np.mean([s[sample] for s in seeds], axis=0), atol=2e-6)
    uf1 = [s.metrics["overall"]["uf1"] for s in summaries]
    assert summary["mean"]["uf1"] == pytest.approx(statistics.fmean(uf1))
    assert summary["sd"]["uf1"] == pytest.approx(statistics.stdev(uf1))
    assert json.loads((out / "seeds.json").read_text())["ensemble"] == summary["ensemble"]
    assert json.loads((out / "ensemble" / "metrics.json").read_text())["overall"] == summary["ensemble"]


def test_seeds_resume_and_run_in_parallel_with_the_serial_numbers(toy, two_seeds, tmp_path):
    features, config = toy
    out, _, summary = two_seeds
    partial, _ = run_seeds(
        config, features, tmp_path, [0, 5], fold_names=FOLDS[:1], progress=False, executor=TWO
    )
    assert [s.folds_trained for s in partial] == [FOLDS[:1], FOLDS[:1]]
    rest, again = run_seeds(config, features, tmp_path, [0, 5], resume=True, progress=False, executor=TWO)
    assert [s.folds_kept for s in rest] == [FOLDS[:1], FOLDS[:1]]
    assert again["per_seed"] == summary["per_seed"] and again["ensemble"] == summary["ensemble"]


def test_the_seeds_summary_sums_the_seeds_training_time(two_seeds):
    _, summaries, summary = two_seeds
    total = sum(s.metrics["train_wall_s"] for s in summaries)
    assert summary["train_wall_s"] == round(total, 1) and summary["train_wall_s"] > 0


def test_a_multi_seed_run_has_a_page_with_each_seed_and_the_ensemble(two_seeds):
    out, _, summary = two_seeds
    page = (out / "report.html").read_text()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    for label, scores in [("seed 0", summary["per_seed"]["0"]), ("seed 5", summary["per_seed"]["5"]),
                          ("mean over seeds", summary["mean"]), ("seed ensemble", summary["ensemble"])]:  # fmt: skip
        i = cells.index(label)
        assert [float(c) for c in cells[i + 1 : i + 3]] == pytest.approx(
            [scores["uf1"], scores["uar"]], abs=1e-4
        )
    assert 'href="seed0/report.html"' in page and "HONEST" in page and "http" not in page


# What git keeps of a run folder under results/ (.gitignore): its pooled predictions, metrics and
# config, never its fold folders, plots, pages or run logs (results/.gitignore: *.log).
KEPT_OUT = shutil.ignore_patterns("folds", "*.png", "report.html", "run.log")


def test_git_keeps_a_results_runs_evidence_and_leaves_its_fold_folders_out():
    root = Path(__file__).resolve().parents[2]
    run = "results/megc2019/runs/m__honest/seed0"
    paths = {
        f"{run}/predictions.csv": False,
        f"{run}/metrics.json": False,
        f"{run}/config.yaml": False,
        "results/megc2019/runs/m__honest/ensemble/predictions.csv": False,
        "results/megc2019/runs/m__honest/seeds.json": False,
        f"{run}/folds/casme2__sub01/model.pt": True,
        f"{run}/folds/casme2__sub01/history.json": True,
        f"{run}/confusion.png": True,
        f"{run}/report.html": True,
        f"{run}/run.log": True,
    }
    for path, ignored in paths.items():
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=root)
        assert check.returncode == (0 if ignored else 1), path


def test_what_git_keeps_of_a_seeds_run_rebuilds_its_summary_and_ensemble(toy, two_seeds, tmp_path):
    features, config = toy
    out, _, summary = two_seeds
    clone = tmp_path / "clone"
    shutil.copytree(out, clone, ignore=KEPT_OUT)
    shutil.rmtree(clone / "ensemble")
    (clone / "seeds.json").unlink()
    again = summarize_seeds(clone, [0, 5], config, features, make_folds(features, config.data, config.seed))
    assert again == summary
    for name in ("predictions.csv", "metrics.json"):
        assert (clone / "ensemble" / name).read_text() == (out / "ensemble" / name).read_text()


def test_a_seed_whose_report_lacks_a_fold_leaves_it_out_of_the_ensemble(toy, two_seeds, tmp_path):
    features, config = toy
    out, _, _ = two_seeds
    partial, _ = run_seeds(config, features, tmp_path, [0], fold_names=FOLDS[:2], progress=False)
    shutil.copytree(seed_dir(out, 5), seed_dir(tmp_path, 5), ignore=KEPT_OUT)
    summary = summarize_seeds(
        tmp_path, [0, 5], config, features, make_folds(features, config.data, config.seed)
    )
    assert summary["folds_done"] == 2
    ensemble = _probs(tmp_path / "ensemble" / "predictions.csv")
    assert len(ensemble) == 12 and all(not s.startswith("toy/s2/") for s in ensemble)


def test_a_seed_file_naming_a_sample_the_data_lacks_is_one_line(toy, two_seeds, tmp_path):
    features, config = toy
    out, _, _ = two_seeds
    for k in (0, 5):
        shutil.copytree(seed_dir(out, k), seed_dir(tmp_path, k), ignore=KEPT_OUT)
    path = seed_dir(tmp_path, 5) / "predictions.csv"
    path.write_text(path.read_text().replace("toy/s1/", "toy/s9/", 1))
    with pytest.raises(LFDError, match="sample toy/s9/clip.. is not in the data") as info:
        summarize_seeds(tmp_path, [0, 5], config, features, make_folds(features, config.data, config.seed))
    assert info.value.path == str(path) and info.value.row is not None
