"""``lfd-tcmen compare``: run folders, seed folders and CSVs; one error line for bad input."""

from __future__ import annotations

import json

import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.core.files import csv_text
from toys import write_composite_run


def write_run(path, preds, labels):
    rows = [
        {
            "dataset": "casme2",
            "subject": f"sub{i // 4:02d}",
            "sample": f"EP{i:02d}",
            "label": y,
            "pred": p,
            "fold": "f",
        }
        for i, (y, p) in enumerate(zip(labels, preds))
    ]
    path.mkdir(parents=True, exist_ok=True)
    (path / "predictions.csv").write_text(csv_text(rows))
    return path


def test_compare_two_runs_and_a_seed_folder(tmp_path, capsys):
    labels = [i % 3 for i in range(40)]
    good = write_run(tmp_path / "good", labels, labels)
    bad = write_run(tmp_path / "bad", [(y + 1) % 3 for y in labels], labels)
    for k in range(3):
        write_run(
            tmp_path / "seeds" / f"seed{k}",
            [y if i % (k + 2) else (y + 1) % 3 for i, y in enumerate(labels)],
            labels,
        )
    assert main(["compare", str(good), str(bad), "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    assert "Each run minus A" in out and "10 subjects" in out and "| each minus A |" in out
    uf1 = next(line for line in out.splitlines() if line.startswith("| B - A | UF1"))
    assert "-1.0000" in uf1 and "B worse than A" in uf1  # B minus A, as with three runs
    assert "p_holm" not in out  # one comparison: nothing to adjust
    argv = ["compare", str(good / "predictions.csv"), str(tmp_path / "seeds"), "--json", "--resamples", "500"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["seeds"] for r in result["runs"]] == [1, 3]
    (seeds,) = result["vs_first"]
    assert seeds["uf1"]["delta"] < 0 and seeds["uf1"]["delta"] == pytest.approx(
        result["runs"][1]["uf1"]["score"] - result["runs"][0]["uf1"]["score"]
    )
    assert seeds["differing"] is None  # 3 seeds against 1: no seed-by-seed pairing


def test_compare_counts_the_samples_each_seed_pair_predicts_differently(tmp_path, capsys):
    labels = [i % 3 for i in range(40)]
    for run, flips in (("a", (0, 0)), ("b", (1, 5))):  # seed k of b flips its first flips[k] samples
        for k, n in enumerate(flips):
            preds = [(y + 1) % 3 if i < n else y for i, y in enumerate(labels)]
            write_run(tmp_path / run / f"seed{k}", preds, labels)
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--resamples", "200"]) == 0
    assert "B and A predict 1, 5 of the 40 samples differently (seed by seed, in folder order)." in (
        capsys.readouterr().out
    )
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--resamples", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vs_first"][0]["differing"] == [1, 5]


def test_too_few_subjects_give_no_interval_and_no_verdict(tmp_path, capsys):
    """Two subjects: the bootstrap can draw three resamples, so its 'p < 0.001' is no finding."""
    labels = [i % 3 for i in range(8)]  # 4 clips per subject: sub00, sub01
    good = write_run(tmp_path / "good", labels, labels)
    bad = write_run(tmp_path / "bad", [(y + 1) % 3 for y in labels], labels)
    assert main(["compare", str(good), str(bad), "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    uf1 = next(line for line in out.splitlines() if line.startswith("| B - A | UF1"))
    assert "-1.0000" in uf1 and "no verdict: 2 subjects, fewer than the 10" in uf1
    assert "better" not in out and "worse" not in out and "< 0.001" not in out
    assert "1.0000 (no interval)" in out and "No interval, p or verdict: 2 subjects" in out
    assert main(["compare", str(good), str(bad), "--resamples", "500", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["subjects"] == 2 and result["min_subjects"] == 10
    assert result["vs_first"][0]["uf1"]["verdict"].startswith("no verdict")


def test_bad_input_is_one_line(tmp_path, capsys):
    labels = [i % 3 for i in range(12)]
    good = write_run(tmp_path / "good", labels, labels)
    other = write_run(tmp_path / "other", labels[:8], labels[:8])
    assert main(["compare", str(good), str(other)]) == 2
    err = capsys.readouterr().err
    assert "same samples" in err and "4 only in the first run (EP08, EP09, EP10, ...)" in err
    (tmp_path / "broken.csv").write_text("dataset,subject,sample,label,pred\ncasme2,sub01,EP01,x,1\n")
    assert main(["compare", str(good), str(tmp_path / "broken.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lfd-tcmen: error: ") and "broken.csv, row 2: label 'x'" in err
    assert main(["compare", str(good), str(tmp_path / "missing")]) == 2


def test_compare_three_runs_per_dataset_and_class_with_holm(tmp_path, capsys):
    labels = [i % 3 for i in range(40)]
    good = write_run(tmp_path / "good", labels, labels)
    bad = write_run(tmp_path / "bad", [(y + 1) % 3 for y in labels], labels)
    half = write_run(tmp_path / "half", [y if i < 20 else (y + 1) % 3 for i, y in enumerate(labels)], labels)
    argv = ["compare", str(good), str(bad), str(half), "--resamples", "500"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in result["runs"]] == [str(good), str(bad), str(half)]
    assert result["runs"][0]["uf1"]["score"] == 1.0 and result["runs"][1]["uf1"]["score"] == 0.0
    assert result["runs"][0]["per_dataset"]["casme2"] == {"uf1": 1.0, "uar": 1.0, "n": 40}
    assert [c["f1"] for c in result["runs"][1]["per_class"]] == [0.0, 0.0, 0.0]
    assert [c["support"] for c in result["runs"][0]["per_class"]] == [14, 13, 13]
    bad_vs, half_vs = result["vs_first"]
    assert bad_vs["uf1"]["delta"] == -1.0 and half_vs["uf1"]["p_holm"] >= half_vs["uf1"]["p"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "F1 per class" in out and "B - A" in out and "C - A" in out and "p_holm" in out
    assert "Each run minus A" in out and "Holm-adjusted across the 2 runs" in out
    bad_uf1 = next(line for line in out.splitlines() if line.startswith("| B - A | UF1"))
    assert bad_uf1.count("< 0.001") == 2  # p and p_holm: below the bootstrap's resolution, not "0.0000"
    assert "B worse than A" in bad_uf1
    assert main(["compare", str(good), str(bad), "--resamples", "500"]) == 0
    uf1 = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| B - A | UF1"))
    assert "< 0.001" in uf1 and "B worse than A" in uf1


def test_the_verdict_follows_the_holm_adjusted_p(tmp_path, capsys):
    """B fixes one wrong clip in each of 4 of the 20 subjects: alone against A it is better
    (interval above 0, p about .02); as one of four such runs, Holm's p (4 x p) is above .05 and
    the verdict says so, whatever the unadjusted interval beside it."""
    labels = [i % 3 for i in range(80)]  # 20 subjects of 4 clips
    base = [y if i % 2 == 0 else (y + 1) % 3 for i, y in enumerate(labels)]
    fixed = [y if i % 4 == 1 and i < 16 else p for i, (y, p) in enumerate(zip(labels, base))]
    a = write_run(tmp_path / "a", base, labels)
    others = [write_run(tmp_path / name, fixed, labels) for name in "bcde"]
    assert main(["compare", str(a), str(others[0]), "--resamples", "2000", "--json"]) == 0
    (alone,) = json.loads(capsys.readouterr().out)["vs_first"]
    assert alone["uf1"]["ci_low"] > 0 and alone["uf1"]["verdict"] == "B better than A"
    assert main(["compare", str(a), *map(str, others), "--resamples", "2000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for row in result["vs_first"]:
        d = row["uf1"]
        assert d["ci_low"] > 0 and d["p"] < 0.05 <= d["p_holm"]
        assert d["verdict"] == "not distinguishable"


def test_compare_pairs_a_run_with_a_peers_megc2019_log(tmp_path, capsys, shared_data):
    """STSTNet's published log pairs with a composite run sample by sample: a run predicting what
    the log predicts differs from it nowhere, one predicting the truth is better by 1 - .7353."""
    from lfd_tcmen.evaluation.scoring import read_prediction_file
    from lfd_tcmen.report.compare import paired_rows

    log = shared_data / "peer_logs" / "STSTNet_logfile.txt"
    published = {r["sample"]: r["pred"] for r in paired_rows(read_prediction_file(log))}
    assert "smic/s1/s01_ne_01" in published and "samm/006/006_1_2" in published  # "s01" and "6" -> folders
    same = write_composite_run(
        tmp_path / "same", shared_data, lambda e: published[e.sample_id], class_columns=True
    )
    assert main(["compare", str(same), str(log), "--resamples", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (log_vs,) = result["vs_first"]
    assert result["runs"][0]["n"] == 442 and log_vs["differing"] == [0] and log_vs["uf1"]["delta"] == 0.0
    assert round(result["runs"][1]["uf1"]["score"], 4) == 0.7353
    truth = write_composite_run(tmp_path / "truth", shared_data, lambda e: e.label, class_columns=True)
    assert main(["compare", str(truth), str(log), "--resamples", "200", "--json"]) == 0
    log_vs = json.loads(capsys.readouterr().out)["vs_first"][0]["uf1"]
    assert round(log_vs["delta"], 4) == round(0.7353 - 1, 4) and log_vs["verdict"] == "B worse than A"
    assert main(["compare", str(log), str(truth), str(same), "--resamples", "200"]) == 0
    out = capsys.readouterr().out  # the log first: the class names come from the runs that have them
    assert "| run | negative | positive | surprise |" in out and "| C - A | UF1 | +0.0000      |" in out


def test_a_log_without_sample_names_cannot_be_paired(tmp_path, capsys, shared_data):
    labels = [i % 3 for i in range(12)]
    run = write_run(tmp_path / "run", labels, labels)
    python_log = shared_data / "peer_logs" / "STSTNet_python_logfile.txt"
    assert main(["compare", str(run), str(python_log)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("lfd-tcmen: error: ")
        and "STSTNet_python_logfile.txt: a python-log file names no samples" in err
    )
