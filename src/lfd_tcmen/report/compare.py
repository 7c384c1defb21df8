"""Runs side by side: their pooled scores and the paired subject-cluster bootstrap of each
difference (``lfd_tcmen.stats``), read from the runs' prediction files. Two runs: A - B
(``compare_runs``); any number: every run's scores with their intervals, per dataset and per
class, and each run against the first, Holm-adjusted (``compare_many``).

A run is given as a predictions CSV; a run folder (its ``predictions.csv``, or the one file
``predictions_<protocol>.csv`` it holds); a folder of seed run folders (one subfolder per
seed, each with its predictions), where every seed takes part; or a MEGC2019 submission log
(a peer's published predictions, e.g. ../shared/data/peer_logs/STSTNet_logfile.txt), whose
samples are named as the composite names them (``data.subjects.sample_id``), so it pairs with
a run on the composite sample by sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.data.subjects import canonical_subject, sample_id
from lfd_tcmen.errors import LFDError
from lfd_tcmen.metrics import classification_report, summarize
from lfd_tcmen.report.tables import format_p, markdown_table
from lfd_tcmen.scoring import PredictionFile, read_prediction_file
from lfd_tcmen.stats import METRICS, RunPredictions, holm, paired_bootstrap, score_interval, verdict

ENSEMBLE = "ensemble"  # the seed ensemble's folder in a multi-seed run (runs.seeds)


def prediction_files(path: Path) -> list[Path]:
    """The predictions file(s) of a run: one per seed."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LFDError("no such run folder or predictions file", path=path)
    own = sorted(path.glob("predictions*.csv"))
    if len(own) == 1:
        return own
    if len(own) > 1:
        raise LFDError(f"several predictions files ({', '.join(p.name for p in own)}); name one", path=path)
    seeds = [
        sorted(d.glob("predictions*.csv"))
        for d in sorted(path.iterdir())
        if d.is_dir() and d.name != ENSEMBLE  # the seed ensemble is made of the seeds, not one more
    ]
    seeds = [files[0] for files in seeds if len(files) == 1]
    if not seeds:
        raise LFDError("no predictions*.csv here or in its subfolders", path=path)
    return seeds


def paired_rows(predictions: PredictionFile) -> list[dict[str, Any]]:
    """A prediction file's rows with the sample ids a run's predictions.csv writes: a MEGC2019
    log's ``<db> <subject>`` / ``<video>`` become the composite's ``dataset/subject/video`` with
    the subject as its dataset's folders write it (SMIC "s01" -> "s1", SAMM "6" -> "006")."""
    if predictions.format == "csv":
        return predictions.rows
    if predictions.format != "megc2019":
        raise LFDError(
            f"a {predictions.format} file names no samples, so it cannot be paired with another run "
            "sample by sample; give a predictions CSV or a MEGC2019 log",
            path=predictions.path,
        )
    rows = []
    for r in predictions.rows:
        dataset = str(r["dataset"]).lower()
        subject = canonical_subject(dataset, str(r["subject"]))
        rows.append(
            {**r, "dataset": dataset, "subject": subject, "sample": sample_id(dataset, subject, r["sample"])}
        )
    return rows


def read_run(path: str | Path) -> RunPredictions:
    files = prediction_files(Path(path))
    try:
        return RunPredictions.from_rows([paired_rows(read_prediction_file(f)) for f in files])
    except ValueError as err:
        raise LFDError(str(err), path=path) from err


def compare_runs(a: str | Path, b: str | Path, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """The bootstrap result (``stats.paired_bootstrap``) with the runs' paths and a verdict per metric."""
    run_a, run_b = read_run(a), read_run(b)
    try:
        result = paired_bootstrap(run_a, run_b, resamples=resamples, seed=seed)
    except ValueError as err:
        raise LFDError(f"cannot compare {a} with {b}: {err}") from err
    result.update(
        run_a=str(a), run_b=str(b), n=len(run_a.samples), differing=differing_predictions(run_a, run_b)
    )
    for m in METRICS:
        result[m]["verdict"] = verdict(result[m], "A", "B")
    return result


def differing_predictions(a: RunPredictions, b: RunPredictions) -> list[int] | None:
    """How many samples seed k of ``a`` and seed k of ``b`` predict differently, for each k
    (seeds paired in folder order); None when the runs have different numbers of seeds. Two
    runs can score alike while predicting different samples; this says how far apart they are."""
    if a.preds.shape != b.preds.shape:
        return None
    return [int(n) for n in (a.preds != b.preds).sum(axis=1)]


def format_comparison(result: dict[str, Any]) -> str:
    """Markdown: A and B, the difference with its 95% interval and p, and the verdict."""
    rows = [
        {
            "metric": m.upper(),
            "a": r["a"],
            "b": r["b"],
            "delta": r["delta"],
            "ci": f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]",
            "p": format_p(r["p"]),
            "verdict": r["verdict"],
        }
        for m, r in ((m, result[m]) for m in METRICS)
    ]
    cols = [
        ("metric", ""),
        ("a", "A"),
        ("b", "B"),
        ("delta", "A - B"),
        ("ci", "95% interval"),
        ("p", "p"),
        ("verdict", ""),
    ]
    return (
        f"A: {result['run_a']} ({result['seeds_a']} seed(s))\nB: {result['run_b']} ({result['seeds_b']} seed(s))\n\n"
        + markdown_table(rows, cols)
        + f"\n\nPaired subject-cluster bootstrap: {result['resamples']} resamples of the {result['subjects']} "
        "subjects, within each dataset ("
        + ", ".join(f"{d} {n}" for d, n in result["datasets"].items())
        + "), seeds resampled too; pooled MEGC2019 scores. A difference is called better or worse only "
        "when its interval excludes 0." + _differing_line(result)
    )


def _differing_line(result: dict[str, Any]) -> str:
    differing = result.get("differing")
    if differing is None:
        return ""
    counts = ", ".join(str(n) for n in differing)
    pairing = "seed by seed, in folder order" if len(differing) > 1 else "the one seed"
    return f"\n\nSamples predicted differently by A and B ({pairing}): {counts} of {result['n']}."


def class_names(path: str | Path) -> list[str] | None:
    """The class names a run's predictions file gives in its ``p_<class>`` columns, else None."""
    names = read_prediction_file(prediction_files(Path(path))[0]).class_names
    return list(names) if names else None


def _mean_defined(values: Sequence[float]) -> float:
    """The mean of the defined (non-NaN) values; NaN when none is (a class no seed could score)."""
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else float("nan")


def breakdown(run: RunPredictions, num_classes: int, names: Sequence[str]) -> dict[str, Any]:
    """Per dataset (UF1, UAR, n) and per class (F1, recall, support): means over the run's seeds."""
    datasets = np.array(run.datasets)
    per_dataset: dict[str, dict[str, float]] = {}
    for d in dict.fromkeys(run.datasets):
        keep = datasets == d
        scores = [summarize(run.labels[keep], p[keep], num_classes) for p in run.preds]
        per_dataset[d] = {
            "uf1": float(np.mean([s["uf1"] for s in scores])),
            "uar": float(np.mean([s["uar"] for s in scores])),
            "n": int(keep.sum()),
        }
    reports = [classification_report(run.labels, p, num_classes, names) for p in run.preds]
    per_class = [
        {
            "class": names[c],
            "f1": _mean_defined([r[c]["f1"] for r in reports]),
            "recall": _mean_defined([r[c]["recall"] for r in reports]),
            "support": reports[0][c]["support"],
        }
        for c in range(num_classes)
    ]
    return {"per_dataset": per_dataset, "per_class": per_class}


def compare_many(paths: Sequence[str | Path], resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Every run's pooled UF1/UAR with its 95% subject-bootstrap interval, per dataset and per
    class; and every run after the first against the first (paired bootstrap, Holm across them).

    Runs must hold the same samples (checked by the paired bootstrap)."""
    if len(paths) < 2:
        raise LFDError("compare needs at least two runs")
    runs = [read_run(p) for p in paths]
    names = next((n for n in map(class_names, paths) if n), None)  # a MEGC2019 log names no classes
    num_classes = max(int(max(r.labels.max(), r.preds.max())) + 1 for r in runs)
    if names is None or len(names) < num_classes:
        names = [str(c) for c in range(num_classes)]
    num_classes = len(names)
    out: dict[str, Any] = {"resamples": resamples, "seed": seed, "classes": names, "runs": [], "vs_first": []}
    for path, run in zip(paths, runs):
        interval = score_interval(run, resamples=resamples, seed=seed)
        out["runs"].append(
            {
                "run": str(path),
                "seeds": int(run.preds.shape[0]),
                "n": len(run.samples),
                **{m: interval[m] for m in METRICS},
                **breakdown(run, num_classes, names),
            }
        )
    for path in paths[1:]:
        result = compare_runs(path, paths[0], resamples=resamples, seed=seed)
        out["vs_first"].append({"run": str(path), **{m: result[m] for m in METRICS}})
    for m in METRICS:
        for row, p in zip(out["vs_first"], holm([r[m]["p"] for r in out["vs_first"]])):
            row[m]["p_holm"] = p
    return out


def format_many(result: dict[str, Any]) -> str:
    """Markdown: the runs' scores with intervals and per dataset; per class F1; each run minus the first."""
    datasets = list(dict.fromkeys(d for r in result["runs"] for d in r["per_dataset"]))
    rows = []
    for i, r in enumerate(result["runs"]):
        row = {"run": f"{chr(65 + i) if i < 26 else i}: {r['run']}", "seeds": r["seeds"]}
        for m in METRICS:
            row[m] = f"{r[m]['score']:.4f} [{r[m]['ci_low']:.3f}, {r[m]['ci_high']:.3f}]"
        for d in datasets:
            row[d] = f"{r['per_dataset'][d]['uf1']:.4f}" if d in r["per_dataset"] else ""
        rows.append(row)
    cols = [("run", "run"), ("seeds", "seeds"), ("uf1", "UF1 [95% CI]"), ("uar", "UAR [95% CI]")]
    cols += [(d, f"UF1 {d}") for d in datasets]
    text = markdown_table(rows, cols)
    class_rows = [
        {"run": f"{chr(65 + i) if i < 26 else i}", **{c["class"]: f"{c['f1']:.3f}" for c in r["per_class"]}}
        for i, r in enumerate(result["runs"])
    ]
    text += (
        "\n\nF1 per class (support: "
        + ", ".join(f"{c['class']} {c['support']}" for c in result["runs"][0]["per_class"])
        + ")\n\n"
        + markdown_table(class_rows, [("run", "run")] + [(c, c) for c in result["classes"]])
    )
    first = result["runs"][0]["run"]
    diff_rows = []
    for i, r in enumerate(result["vs_first"], start=1):
        for m in METRICS:
            d = r[m]
            diff_rows.append(
                {
                    "what": f"{chr(65 + i) if i < 26 else i} - A",
                    "metric": m.upper(),
                    "delta": d["delta"],
                    "ci": f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]",
                    "p": format_p(d["p"]),
                    "p_holm": format_p(d["p_holm"]),
                    "verdict": verdict(d, chr(65 + i) if i < 26 else str(i), "A"),
                }
            )
    text += (
        f"\n\nEach run minus A ({first}): paired subject-cluster bootstrap, {result['resamples']} resamples, "
    )
    text += "Holm-adjusted across the runs (p_holm)\n\n" + markdown_table(
        diff_rows,
        [("what", ""), ("metric", ""), ("delta", "difference"), ("ci", "95% interval"), ("p", "p"),
         ("p_holm", "p_holm"), ("verdict", "")],
    )  # fmt: skip
    return text + "\n\nA difference is called better or worse only when its interval excludes 0."
