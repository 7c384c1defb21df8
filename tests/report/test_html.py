"""report.html: self-contained, holds the run's numbers, opens with its answer, renders in a real
browser; one class order and palette in every figure, subjects in another. (The benchmark's page:
test_benchmark_page.py.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.files import csv_text
from lfd_tcmen.report import plots
from lfd_tcmen.report.html import _intervals
from lfd_tcmen.report.plots import class_colors
from lfd_tcmen.runs.experiment import run_experiment
from toys import make_config, make_datasets

BROWSER_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished toy run over two datasets (4 subjects, 4 folds, one epoch): its folder."""
    out = tmp_path_factory.mktemp("html") / "run"
    features = make_datasets(("casme2", "samm"), subjects=2, per_subject=4)
    run_experiment(make_config(epochs=1, protocol="leaky-best-epoch"), features, out, progress=False)
    return out


def _numbers(metrics: dict) -> list[str]:
    """The numbers a reader looks for, as the page writes them (4 decimals)."""
    shown = [f"{metrics['overall'][m]:.4f}" for m in ("uf1", "uar", "accuracy")]
    shown += [f"{d['uf1']:.4f}" for d in metrics["per_dataset"].values()]
    shown += [f"{r['f1']:.4f}" for r in metrics["per_class"] if r["f1"] is not None]
    shown += [f"{r['uf1']:.4f}" for r in metrics["per_fold"]]
    return shown


def test_report_holds_the_metrics_and_refers_to_nothing_outside(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    metrics = json.loads((run / "metrics.json").read_text())
    for number in _numbers(metrics):
        assert number in page, number
    for row in metrics["confusion"]["counts"]:
        for count in row:
            assert f'<td class="num">{count}</td>' in page
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link)\b", page)
    assert page.count("data:image/png;base64,") == 2  # curves, embeddings (the confusion matrix is a table)
    assert page.index('id="finding"') < page.index("<h2>Scores</h2>")  # the answer first
    assert f"UF1 {metrics['overall']['uf1']:.4f}" in page[: page.index("<h2>Scores</h2>")]
    assert "No held-out curve" not in page and "the curve the LEAKY protocol picks its epoch on" in page
    assert "LEAKY protocol" in page and 'class="banner leaky"' in page
    assert (
        "95% interval" in page
        and "No interval: 4 subjects, fewer than the 10 a subject bootstrap needs" in page
    )
    assert "casme2" in page and "samm" in page
    assert json.loads((run / "run.json").read_text())["fingerprint"] in page


def test_intervals_from_the_fewest_subjects_a_bootstrap_needs(tmp_path):
    """12 casme2 subjects get an interval, overall too; 4 samm subjects get none."""
    rows = [
        {
            "dataset": d,
            "subject": f"s{s:02d}",
            "sample": f"{d}{s}_{k}",
            "label": k % 3,
            "pred": (k + s % 2) % 3,
        }
        for d, subjects in (("casme2", 12), ("samm", 4))
        for s in range(subjects)
        for k in range(3)
    ]
    (tmp_path / "predictions.csv").write_text(csv_text(rows))
    intervals, _ = _intervals(tmp_path / "predictions.csv", resamples=200)
    assert set(intervals) == {"all", "casme2"} and intervals["all"]["subjects"] == 16
    assert intervals["casme2"]["uf1"]["ci_low"] < intervals["casme2"]["uf1"]["ci_high"]
    (tmp_path / "predictions.csv").write_text(csv_text([r for r in rows if r["dataset"] == "samm"]))
    assert _intervals(tmp_path / "predictions.csv", resamples=200) == (
        {},
        "4 subjects, fewer than the 10 a subject bootstrap needs",
    )


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "chromium not installed (Debian: apt-get install -y chromium; `make test` tries it); "
            "the browser check of report.html is skipped"
        )
    return found


def test_report_renders_in_headless_chromium(run, tmp_path):
    browser = _chromium()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    url = (run / "report.html").resolve().as_uri()
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=BROWSER_TIMEOUT_S,
    )
    assert shot.is_file(), done.stderr.decode(errors="replace")[-2000:]
    image = cv2.imread(str(shot), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape[1] == 1200
    assert float(image.std()) > 10, "the screenshot is blank"
    assert (image < 100).mean() > 0.005  # dark pixels: text and figures were drawn
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S
    ).stdout
    metrics = json.loads((run / "metrics.json").read_text())
    for number in _numbers(metrics):
        assert number in dom, number
    assert "LEAKY protocol" in dom and 'id="finding"' in dom


def test_one_class_palette_in_the_confusion_matrix_and_the_embedding(run, monkeypatch):
    """The embedding's class colours follow the class order, whatever order samples come in."""
    seen = {}

    def record(ax, xy, groups, title, legend_max, palette=None):
        seen[title] = palette

    names = ["negative", "positive", "surprise"]
    codes = np.random.default_rng(0).normal(size=(6, 4))
    labels = np.array([2, 1, 0, 2, 1, 0])  # "surprise" first
    monkeypatch.setattr(plots, "_scatter", record)
    plots.plot_embedding(codes, codes, list("aabbcc"), labels, names, run / "e.png")
    assert list(seen["motion code by class"].items()) == list(zip(names, class_colors(names)))
    subjects = seen["motion code by subject"]  # the middle panel: the motion codes by subject
    assert subjects == seen["identity code by subject (3)"] and list(subjects) == ["a", "b", "c"]
    assert not set(subjects.values()) & set(class_colors(names))  # no colour means a class and a subject


def test_text_from_the_run_files_is_escaped_on_the_page(run, tmp_path):
    """The pages are built by small helpers that escape every text they are given (no template
    engine: docs/design.md, "Considered and not done"): a hostile name in a run's files is shown,
    never run."""
    from lfd_tcmen.report.html import write_run_report

    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    info = json.loads((copy / "run.json").read_text())
    info["fingerprint"] = hostile
    (copy / "run.json").write_text(json.dumps(info))
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["per_dataset"][hostile] = next(iter(metrics["per_dataset"].values()))
    (copy / "metrics.json").write_text(json.dumps(metrics))
    page = write_run_report(copy).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert not re.search(r"<script\b", page) and "<img src=x" not in page
