"""One run with several seeds: a run folder per seed, the seed ensemble, and the spread over seeds.

    OUT/seed<k>/       a normal run folder for seed k (its folds, predictions, metrics)
    OUT/ensemble/      the seed ensemble: predictions.csv (or predictions_<protocol>.csv), metrics.json
    OUT/report.html    a page with each seed's scores and page, their mean and sd, the ensemble's
    OUT/seeds.json     each seed's pooled scores, their mean and standard deviation, the ensemble's

The seed ensemble averages, per test sample, the class probabilities of the seeds' models (each
trained without that sample's subject) and predicts the most probable class: no test
information is used, and it is how a user would deploy several seeds. It covers the folds that
every seed's report covers, and it is made from the seeds' pooled prediction files
(probabilities to 6 decimals) and metrics.json, never from their fold folders: a clone of
results/, which keeps those files and leaves the fold folders out of git, rebuilds it as the
run that trained it did.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import read_json, write_csv, write_json
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.evaluation.metrics import score_table
from lfd_tcmen.evaluation.scoring import read_run_predictions
from lfd_tcmen.report.compare import ENSEMBLE
from lfd_tcmen.report.html import write_seeds_report
from lfd_tcmen.report.predictions import prediction_rows, predictions_name
from lfd_tcmen.report.summary import METRICS, read_metrics, reported_folds
from lfd_tcmen.runs.experiment import RunOptions, RunPlan, RunSummary, run_experiments
from lfd_tcmen.runs.folds import make_folds, select_folds

SUMMARY = "seeds.json"
SCORES = ("uf1", "uar", "accuracy")


def seed_dir(out: str | Path, seed: int) -> Path:
    return Path(out) / f"seed{seed}"


def seeded(config: ExperimentConfig, seed: int) -> ExperimentConfig:
    return replace(config, seed=seed)


def summarize_seeds(
    out: Path,
    seeds: Sequence[int],
    config: ExperimentConfig,
    features: FeatureSet,
    selected: Sequence[Fold],
) -> dict[str, Any]:
    """Write ``out``'s seed ensemble and ``seeds.json`` from its seed folders; return the summary.

    ``config`` is the run's (its seed aside); ``selected``: the folds that count.
    """
    protocol = config.train.protocol
    dirs = {k: seed_dir(out, k) for k in seeds}
    per_seed = {k: read_metrics(d) for k, d in dirs.items()}
    reported = [set(reported_folds(d) or ()) for d in dirs.values()]
    common = [f for f in selected if all(f.name in folds for folds in reported)]
    summary: dict[str, Any] = {
        "name": config.name,
        "model": config.model.name,
        "protocol": protocol,
        "seeds": list(seeds),
        "per_seed": {str(k): (m or {}).get("overall") for k, m in per_seed.items()},
        "folds_done": len(common),
        "folds_total": len({f.name for f in selected}),
    }
    summary["train_wall_s"] = round(
        sum(float((m or {}).get("train_wall_s", 0.0)) for m in per_seed.values()), 1
    )
    done = [m["overall"] for m in per_seed.values() if m and "overall" in m]
    if len(done) == len(seeds):
        summary["mean"] = {s: statistics.fmean(o[s] for o in done) for s in SCORES}
        summary["sd"] = {s: statistics.stdev(o[s] for o in done) if len(done) > 1 else 0.0 for s in SCORES}
    if not any(f.test for f in selected):  # data.split all: each seed's model, nothing to score
        summary["test_samples"] = 0
    if any(f.test for f in common):
        summary["ensemble"] = write_ensemble(out / ENSEMBLE, dirs.values(), common, features, config)[
            "overall"
        ]
    write_json(out / SUMMARY, summary)
    write_seeds_report(out, summary)
    return summary


def write_ensemble(
    out: Path, dirs: Sequence[Path], folds: Sequence[Fold], features: FeatureSet, config: ExperimentConfig
) -> dict[str, Any]:
    """The seed ensemble of the seed run folders ``dirs`` over ``folds`` (which every seed's
    report covers): its predictions and metrics.json in ``out``; returns the metrics. Read from
    the seeds' pooled prediction files; samples are matched by sample id, so seeds whose folds
    differ (subject k-fold) still average per sample."""
    protocol = config.train.protocol
    wanted = {i for fold in folds for i in fold.test}
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    fold_of: dict[int, str] = {}
    for d in dirs:
        for i, (probs, fold) in seed_probabilities(d / predictions_name(protocol), features).items():
            if i in wanted:
                sums[i] = sums.get(i, 0) + probs
                counts[i] = counts.get(i, 0) + 1
                fold_of.setdefault(i, fold)
    index = np.array(sorted(i for i in sums if counts[i] == len(dirs)), dtype=np.int64)
    probs = np.array([sums[i] / counts[i] for i in index.tolist()], dtype=np.float64)
    rows = [
        prediction_rows(features, [i], probs[k : k + 1], protocol, fold=fold_of[i])[0]
        for k, i in enumerate(index.tolist())
    ]
    write_csv(out / predictions_name(protocol), rows)
    table = score_table(rows, num_classes=features.num_classes)
    metrics = {
        "kind": "seed ensemble: mean of the seeds' test probabilities per sample",
        "protocol": protocol,
        "name": config.name,
        "model": config.model.name,
        "seeds": len(dirs),
        "folds_done": len(folds),
        "class_names": list(features.class_names),
        "overall": table["overall"],
        "per_dataset": table["per_dataset"],
        "predictions": predictions_name(protocol),
    }
    write_json(out / METRICS, metrics)
    return metrics


def seed_probabilities(path: Path, features: FeatureSet) -> dict[int, tuple[np.ndarray, str]]:
    """A seed's pooled predictions file: sample index -> (class probabilities, fold)."""
    predictions = read_run_predictions(path, probabilities=True)
    if predictions.class_names != tuple(features.class_names):
        raise LFDError(
            f"its p_<class> columns ({', '.join(predictions.class_names or ()) or 'none'}) are not "
            f"the data's classes ({', '.join(features.class_names)})",
            path,
        )
    index = {sample: i for i, sample in enumerate(features.sample_ids)}
    found: dict[int, tuple[np.ndarray, str]] = {}
    for row in predictions.rows:
        if row["sample"] not in index:
            raise LFDError(f"sample {row['sample']} is not in the data", path, row["line"])
        found[index[row["sample"]]] = (np.asarray(row["probs"], dtype=np.float64), row.get("fold", ""))
    return found


def read_summary(out: Path) -> Mapping[str, Any] | None:
    """``out``'s seeds.json (None: not a multi-seed run folder)."""
    return read_json(out / SUMMARY)


def run_seeds(
    config: ExperimentConfig,
    features: FeatureSet,
    out_dir: str | Path,
    seeds: Sequence[int],
    *,
    preprocess: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[list[RunSummary], dict[str, Any]]:
    """``config`` with each of ``seeds``, every (seed, fold) one task on one executor, into
    ``OUT/seed<k>/``; then the seed ensemble and ``OUT/seeds.json``. ``options`` are
    ``RunOptions`` fields. ``OUT/run.log`` records every seed's lines, each ``seed<k>/run.log``
    its own. Returns the seeds' run summaries and the seeds summary."""
    out = Path(out_dir)
    plans = [RunPlan.single(seeded(config, k), seed_dir(out, k)) for k in seeds]
    run_options = RunOptions(**options, log_to=(out,))
    summaries = run_experiments(plans, features, run_options, preprocess)
    selected = select_folds(make_folds(features, config.data, config.seed), run_options.fold_names)
    return summaries, summarize_seeds(out, seeds, config, features, selected)
