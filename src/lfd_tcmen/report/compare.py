"""Runs side by side: their pooled scores and the paired subject-cluster bootstrap of each
difference (``lfd_tcmen.evaluation.stats``), read from the runs' prediction files. ``compare_many``, for
two runs or more: every run's scores with their intervals, per dataset and per class, and each
run minus the first (one convention, whatever the number of runs), Holm-adjusted across the runs.
``compare_runs``: one run minus another (a benchmark row minus its reference).

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

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.subjects import canonical_subject, sample_id
from lfd_tcmen.evaluation.metrics import classification_report, summarize
from lfd_tcmen.evaluation.scoring import PredictionFile, read_prediction_file, read_run_predictions
from lfd_tcmen.evaluation.stats import (
    ALPHA,
    METRICS,
    MIN_SUBJECTS,
    RunPredictions,
    holm,
    paired_bootstrap,
    score_interval,
    too_few_subjects,
    verdict,
)
from lfd_tcmen.report.tables import format_p, markdown_table

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
    seeds = {
        d: sorted(d.glob("predictions*.csv"))
        for d in sorted(path.iterdir())
        # the seed ensemble is made of the seeds, not one more; hidden folders are not seeds
        if d.is_dir() and d.name != ENSEMBLE and not d.name.startswith(".")
    }
    if not any(seeds.values()):
        raise LFDError("no predictions*.csv here or in its subfolders", path=path)
    for d, files in seeds.items():  # a seed left out would silently change the run's score
        if not files:
            raise LFDError(
                "this seed folder holds no predictions*.csv (a seed that failed or did not finish?): "
                "finish it, or move it out to compare the other seeds",
                path=d,
            )
        if len(files) > 1:
            raise LFDError(
                f"several predictions files ({', '.join(p.name for p in files)}); name one", path=d
            )
    return [files[0] for files in seeds.values()]


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
        return RunPredictions.from_rows([paired_rows(read_run_predictions(f)) for f in files])
    except ValueError as err:
        raise LFDError(str(err), path=path) from err


def compare_runs(a: str | Path, b: str | Path, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """``a`` minus ``b``: the bootstrap result (``stats.paired_bootstrap``) with the runs' paths."""
    run_a, run_b = read_run(a), read_run(b)
    result = _paired(run_a, run_b, f"{a} with {b}", resamples, seed)
    result.update(run_a=str(a), run_b=str(b), n=len(run_a.samples))
    return result


def _paired(
    run: RunPredictions, other: RunPredictions, what: str, resamples: int, seed: int
) -> dict[str, Any]:
    """``run`` minus ``other`` (``stats.paired_bootstrap``); runs that cannot be paired: one error
    line naming ``what`` ("<run> with <other>")."""
    try:
        return paired_bootstrap(run, other, resamples=resamples, seed=seed)
    except ValueError as err:
        raise LFDError(f"cannot compare {what}: {err}") from err


def differing_predictions(a: RunPredictions, b: RunPredictions) -> list[int] | None:
    """How many samples seed k of ``a`` and seed k of ``b`` predict differently, for each k
    (seeds paired in folder order); None when the runs have different numbers of seeds. Two
    runs can score alike while predicting different samples; this says how far apart they are."""
    if a.preds.shape != b.preds.shape:
        return None
    return [int(n) for n in (a.preds != b.preds).sum(axis=1)]


def class_names(path: str | Path) -> list[str] | None:
    """The class names a run's predictions file gives in its ``p_<class>`` columns, else None."""
    names = read_prediction_file(prediction_files(Path(path))[0]).class_names
    return list(names) if names else None


def shared_class_names(paths: Sequence[str | Path]) -> list[str] | None:
    """The class names the runs' prediction files give in their ``p_<class>`` columns (a MEGC2019
    log gives none: None when no file does). Files that name different classes (3 against 2) do
    not score the same task: ``LFDError`` naming both."""
    first: tuple[Path, tuple[str, ...]] | None = None
    for path in paths:
        for file in prediction_files(Path(path)):
            names = read_prediction_file(file).class_names
            if not names:
                continue
            if first is None:
                first = (file, names)
            elif names != first[1]:
                raise LFDError(
                    f"its classes ({', '.join(names)}) are not those of {first[0]} ({', '.join(first[1])}): "
                    "runs of different class sets cannot be compared",
                    path=file,
                )
    return list(first[1]) if first else None


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
    class; and each run after the first minus the first, with two runs as with ten: the paired
    bootstrap's difference, interval and p, p Holm-adjusted across the runs (``p_holm``), and the
    verdict ``stats.verdict`` draws from them (none below ``stats.MIN_SUBJECTS`` subjects).

    Runs must hold the same samples (checked by the paired bootstrap)."""
    if len(paths) < 2:
        raise LFDError("compare needs at least two runs")
    runs = [read_run(p) for p in paths]
    names = shared_class_names(paths)
    num_classes = max(int(max(r.labels.max(), r.preds.max())) + 1 for r in runs)
    if names is None or len(names) < num_classes:
        names = [str(c) for c in range(num_classes)]
    num_classes = len(names)
    out: dict[str, Any] = {
        "resamples": resamples,
        "seed": seed,
        "min_subjects": MIN_SUBJECTS,
        "alpha": ALPHA,
        "classes": names,
        "runs": [],
        "vs_first": [],
    }
    for path, run in zip(paths, runs):
        interval = score_interval(run, resamples=resamples, seed=seed)
        out["runs"].append(
            {
                "run": str(path),
                "seeds": int(run.preds.shape[0]),
                "n": len(run.samples),
                "subjects": interval["subjects"],
                **{m: interval[m] for m in METRICS},
                **breakdown(run, num_classes, names),
            }
        )
    for path, run in zip(paths[1:], runs[1:]):
        # A first, so that a sample mismatch calls A "the first run"; reported as run minus A
        result = _paired(runs[0], run, f"{paths[0]} with {path}", resamples, seed)
        out.update(subjects=result["subjects"], datasets=result["datasets"])
        out["vs_first"].append(
            {
                "run": str(path),
                "differing": differing_predictions(run, runs[0]),
                **{m: _negated(result[m]) for m in METRICS},
            }
        )
    for m in METRICS:
        for i, (row, p) in enumerate(zip(out["vs_first"], holm([r[m]["p"] for r in out["vs_first"]])), 1):
            row[m]["p_holm"] = p
            row[m]["verdict"] = verdict(row[m], letter(i), "A", subjects=out["subjects"])
    return out


def _negated(a_minus_b: dict[str, float]) -> dict[str, float]:
    """``b - a`` from ``a - b``'s difference, interval and p (the percentile interval mirrors)."""
    d = a_minus_b  # 0.0 - x, not -x: no difference reads +0.0000, not -0.0000
    return {
        "delta": 0.0 - d["delta"],
        "ci_low": 0.0 - d["ci_high"],
        "ci_high": 0.0 - d["ci_low"],
        "p": d["p"],
    }


def letter(i: int) -> str:
    """The name of the i-th run (0: the first) in compare's tables: A, B, ..., Z, then 26, 27, ..."""
    return chr(65 + i) if i < 26 else str(i)


def format_many(result: dict[str, Any]) -> str:
    """Markdown: the runs' scores with intervals and per dataset; per class F1; each run minus A."""
    text = _scores_table(result)
    class_rows = [
        {"run": letter(i), **{c["class"]: f"{c['f1']:.3f}" for c in r["per_class"]}}
        for i, r in enumerate(result["runs"])
    ]
    text += (
        "\n\nF1 per class (support: "
        + ", ".join(f"{c['class']} {c['support']}" for c in result["runs"][0]["per_class"])
        + ")\n\n"
        + markdown_table(class_rows, [("run", "run")] + [(c, c) for c in result["classes"]])
    )
    return text + "\n\n" + _differences_table(result)


def _scores_table(result: dict[str, Any]) -> str:
    datasets = list(dict.fromkeys(d for r in result["runs"] for d in r["per_dataset"]))
    rows = []
    for i, r in enumerate(result["runs"]):
        row = {"run": f"{letter(i)}: {r['run']}", "seeds": r["seeds"]}
        few = too_few_subjects(r["subjects"])
        for m in METRICS:
            s = r[m]
            interval = "(no interval)" if few else f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
            row[m] = f"{s['score']:.4f} {interval}"
        for d in datasets:
            row[d] = f"{r['per_dataset'][d]['uf1']:.4f}" if d in r["per_dataset"] else ""
        rows.append(row)
    cols = [("run", "run"), ("seeds", "seeds"), ("uf1", "UF1 [95% CI]"), ("uar", "UAR [95% CI]")]
    return markdown_table(rows, cols + [(d, f"UF1 {d}") for d in datasets])


def _differences_table(result: dict[str, Any]) -> str:
    """Each run minus A: the header says so, the rows are named "B - A", and the closing line
    gives the rule the verdicts follow."""
    several = len(result["vs_first"]) > 1
    few = too_few_subjects(result["subjects"])
    rows = []
    for i, r in enumerate(result["vs_first"], start=1):
        for m in METRICS:
            d = r[m]
            rows.append(
                {
                    "what": f"{letter(i)} - A",
                    "metric": m.upper(),
                    "delta": f"{d['delta']:+.4f}",
                    "ci": "-" if few else f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]",
                    "p": "-" if few else format_p(d["p"]),
                    "p_holm": "-" if few else format_p(d["p_holm"]),
                    "verdict": d["verdict"],
                }
            )
    cols = [("what", ""), ("metric", ""), ("delta", "each minus A"), ("ci", "95% interval"), ("p", "p")]
    cols += [("p_holm", "p_holm")] if several else []
    cols += [("verdict", "")]
    header = (
        f"Each run minus A ({result['runs'][0]['run']}): paired subject-cluster bootstrap, "
        f"{result['resamples']} resamples of the {result['subjects']} subjects within each dataset ("
        + ", ".join(f"{d} {n}" for d, n in result["datasets"].items())
        + "), seeds resampled too; pooled MEGC2019 scores"
        + (f"; p Holm-adjusted across the {len(result['vs_first'])} runs (p_holm)" if several else "")
    )
    if few:
        rule = f"No interval, p or verdict: {few} (a nominal 95% interval would cover far less)."
    else:
        rule = (
            "A difference is called better or worse only when its 95% interval excludes 0 and its "
            + ("Holm-adjusted p (p_holm)" if several else "p")
            + f" is below {result['alpha']}."
        )
    return header + "\n\n" + markdown_table(rows, cols) + _differing_lines(result) + "\n\n" + rule


def _differing_lines(result: dict[str, Any]) -> str:
    """How many samples each run predicts differently from A, seed by seed (where both have as
    many seeds): two runs can score alike while predicting different samples."""
    n = result["runs"][0]["n"]
    lines = []
    for i, r in enumerate(result["vs_first"], start=1):
        counts = r["differing"]
        if counts is not None:
            pairing = "seed by seed, in folder order" if len(counts) > 1 else "the one seed"
            lines.append(
                f"{letter(i)} and A predict {', '.join(map(str, counts))} of the {n} samples differently ({pairing})."
            )
    return "\n\n" + "\n".join(lines) if lines else ""
