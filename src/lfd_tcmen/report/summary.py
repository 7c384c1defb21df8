"""The run's reports, rebuilt from its finished fold folders.

metrics.json holds the pooled MEGC2019 scores (every fold's predictions scored together, never
an average of per-fold scores), per-fold and per-dataset scores, and two identity probes:
``identity_heldout`` (same-subject retrieval and verification AUC of held-out samples' codes,
beside raw-input and untrained-model references: ``analysis.heldout``) and ``identity_leakage``
(a linear probe on each fold's TRAINING samples' codes, averaged over folds; it saturates, and is
kept labelled with what it measures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.analysis.embedding import FoldEmbedding
from lfd_tcmen.analysis.probe import CODE_NAMES
from lfd_tcmen.analysis.run import RunAnalysis
from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.core.files import atomic_write_text, read_json, write_csv, write_json
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.metrics import classification_report, confusion_matrix, score_table, summarize
from lfd_tcmen.evaluation.records import FoldRecord
from lfd_tcmen.report.plots import plot_confusion, plot_curves, plot_embedding
from lfd_tcmen.report.predictions import prediction_rows, predictions_name, protocol_label
from lfd_tcmen.report.provenance import fold_scope, partial_fields
from lfd_tcmen.report.tables import markdown_table

METRICS = "metrics.json"
FOLD_TABLE = "folds.md"
CONFUSION = "confusion.png"
CURVES = "curves.png"
EMBEDDING = "embedding.png"


def summarize_run(
    run_dir: Path,
    features: FeatureSet,
    config: ExperimentConfig,
    records: Sequence[FoldRecord],
    folds_total: int,
    analysis: RunAnalysis,
) -> dict[str, Any]:
    """Write predictions, metrics.json, the per-fold table and the figures; return the metrics.

    ``analysis``: the run's probes and embedding codes (``analysis.run.analyse_run``), written as
    they are. A run whose folds test nothing (``data.split: all``) gets ``summarize_untested``.
    """
    if not any(len(rec.test_index) for rec in records):
        return summarize_untested(run_dir, config, records, folds_total, analysis)
    protocol = config.train.protocol
    label = protocol_label(protocol)
    c = features.num_classes
    rows: list[dict[str, Any]] = []
    per_fold: list[dict[str, Any]] = []
    for rec in records:
        rows += prediction_rows(features, rec.test_index, rec.probs, protocol, fold=rec.name)
        scores = summarize(features.labels[rec.test_index], rec.preds, c)
        per_fold.append(
            {
                "fold": rec.name,
                **scores,
                "epoch": rec.info.get("epoch"),
                "n_train": rec.info.get("n_train"),
                "wall_s": rec.info.get("wall_s"),
            }
        )
    write_csv(run_dir / predictions_name(protocol), rows)
    table = score_table(rows, num_classes=c)
    scope = fold_scope(len(records), folds_total)
    label = f"{label}; {scope}" if scope else label
    cm = confusion_matrix(
        np.array([r["label"] for r in rows], dtype=np.int64),
        np.array([r["pred"] for r in rows], dtype=np.int64),
        c,
    )
    metrics: dict[str, Any] = {
        "protocol": protocol,
        "name": config.name,
        "model": config.model.name,
        "seed": config.seed,
        "epochs": config.train.epochs,
        "folds_done": len(records),
        "folds_total": folds_total,
        **partial_fields(len(records), folds_total),
        "class_names": list(features.class_names),
        "overall": table["overall"],
        "per_dataset": table["per_dataset"],
        "per_class": per_class_scores(cm, features.class_names),
        "confusion": {
            "rows": "true class",
            "columns": "predicted class",
            "classes": list(features.class_names),
            "counts": cm.tolist(),
        },
        "per_fold": per_fold,
        "identity_leakage": analysis.identity_leakage,
        "identity_heldout": analysis.identity_heldout,
        "train_wall_s": round(sum(float(r.get("wall_s") or 0.0) for r in per_fold), 3),
        "predictions": predictions_name(protocol),
    }
    if records and all(f"test_{n}" in records[0].codes for n in CODE_NAMES):
        metrics["embedding"] = {
            "file": EMBEDDING,
            "model_of_fold": records[0].name,
            "samples": "all samples (that fold's training subjects and its held-out subject)",
        }
    if protocol == "leaky-best-epoch":
        metrics["note"] = (
            "leaky: each fold's epoch was chosen on its test subject's labels; figures are optimistic"
        )
    write_json(run_dir / METRICS, metrics)
    _write_fold_table(run_dir / FOLD_TABLE, per_fold, table, label, config)
    _write_figures(run_dir, features, config, records, label, cm, analysis.embedding)
    return metrics


def per_class_scores(cm: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """``metrics.classification_report`` of the pooled confusion matrix ``cm`` (C, C), one row per
    class in the class order, with its true-positive, false-positive and false-negative counts;
    an undefined score (a class never true or never predicted) is None."""
    c = len(class_names)
    truth = np.repeat(np.arange(c), cm.sum(axis=1))
    preds = np.concatenate([np.repeat(np.arange(c), cm[i]) for i in range(c)])
    rows = classification_report(truth, preds, c, class_names) if len(truth) else []
    tp = np.diag(cm)
    for i, row in enumerate(rows):
        for key in ("precision", "recall", "f1"):
            row[key] = None if np.isnan(row[key]) else row[key]
        row.update(tp=int(tp[i]), fp=int(cm[:, i].sum() - tp[i]), fn=int(cm[i].sum() - tp[i]))
    return rows


UNTESTED_NOTE = (
    "data.split all: trained on every subject, no test samples, so no predictions and no scores; "
    "the model is folds/all/model.pt: score it on another dataset's prepared store with "
    "`lfd-tcmen evaluate RUN --store STORE`"
)


def summarize_untested(
    run_dir: Path,
    config: ExperimentConfig,
    records: Sequence[FoldRecord],
    folds_total: int,
    analysis: RunAnalysis,
) -> dict[str, Any]:
    """metrics.json, folds.md and the training curves of a run that tests nothing: what was
    trained and where the model is, and a statement that there is nothing to score."""
    label = protocol_label(config.train.protocol)
    scope = fold_scope(len(records), folds_total)
    label = f"{label}; {scope}" if scope else label
    per_fold = [
        {
            "fold": rec.name,
            "n": 0,
            "epoch": rec.info.get("epoch"),
            "n_train": rec.info.get("n_train"),
            "wall_s": rec.info.get("wall_s"),
        }
        for rec in records
    ]
    metrics: dict[str, Any] = {
        "protocol": config.train.protocol,
        "name": config.name,
        "model": config.model.name,
        "seed": config.seed,
        "epochs": config.train.epochs,
        "split": config.data.split,
        "folds_done": len(records),
        "folds_total": folds_total,
        **partial_fields(len(records), folds_total),
        "test_samples": 0,
        "note": UNTESTED_NOTE,
        "models": [str(rec.model_path.relative_to(run_dir)) for rec in records],
        "per_fold": per_fold,
        "identity_leakage": analysis.identity_leakage,
        "train_wall_s": round(sum(float(r.get("wall_s") or 0.0) for r in per_fold), 3),
    }
    write_json(run_dir / METRICS, metrics)
    cols = ["fold", "epoch", "n_train", "wall_s"]
    atomic_write_text(
        run_dir / FOLD_TABLE,
        f"# {config.name}: {config.model.name}, {label}\n\nNo test samples: {UNTESTED_NOTE}.\n\n"
        f"## Trained\n\n{markdown_table(per_fold, cols)}\n",
    )
    history = [{"fold": r.name, **row} for r in records for row in r.info.get("history", [])]
    if history:
        plot_curves(history, run_dir / CURVES, title=f"{config.name}: training ({label})")
    return metrics


def _write_fold_table(
    path: Path, per_fold: list[dict[str, Any]], table: dict[str, Any], label: str, config: ExperimentConfig
) -> None:
    cols = ["fold", "n", "uf1", "uar", "accuracy", "epoch", "n_train", "wall_s"]
    pooled = [{"dataset": "all", **table["overall"]}] + [
        {"dataset": k, **v} for k, v in table["per_dataset"].items()
    ]
    text = (
        f"# {config.name}: {config.model.name}, {label}\n\n"
        f"## Pooled scores (MEGC2019 definitions)\n\n{markdown_table(pooled, ['dataset', 'n', 'uf1', 'uar', 'accuracy'])}\n\n"
        f"## Per fold ({label})\n\n{markdown_table(per_fold, cols)}\n"
    )
    atomic_write_text(path, text)


def _write_figures(
    run_dir: Path,
    features: FeatureSet,
    config: ExperimentConfig,
    records: Sequence[FoldRecord],
    label: str,
    cm: np.ndarray,
    embedding: FoldEmbedding | None,
) -> None:
    plot_confusion(
        cm, features.class_names, run_dir / CONFUSION, title=f"{config.name}: {config.model.name} ({label})"
    )
    history = [{"fold": r.name, **row} for r in records for row in r.info.get("history", [])]
    if history:
        plot_curves(history, run_dir / CURVES, title=f"{config.name}: training ({label})")
    if embedding is not None:
        title = f"{config.name} ({label}): model of fold {embedding.fold}"
        plot_embedding(
            embedding.identity_code,
            embedding.motion_code,
            features.subjects,
            features.labels,
            features.class_names,
            run_dir / EMBEDDING,
            seed=config.seed,
            title=title,
        )


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The run's metrics.json (None: absent or unreadable)."""
    return read_json(run_dir / METRICS)


def reported_folds(run_dir: Path) -> list[str] | None:
    """The folds the run's metrics.json was built from (None: no readable metrics.json)."""
    metrics = read_metrics(run_dir)
    try:
        return [row["fold"] for row in metrics["per_fold"]] if metrics else None
    except (KeyError, TypeError):
        return None
