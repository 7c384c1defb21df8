"""The run's reports, rebuilt from its finished fold folders.

metrics.json holds the pooled MEGC2019 scores (every fold's predictions scored together, never
an average of per-fold scores), per-fold and per-dataset scores, and the identity-leakage probe
(per fold, on the fold's TRAINING samples' codes: how well a linear classifier recovers the
subject from the motion code vs the identity code; averaged over folds, with chance level).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.config import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.engine import outputs
from lfd_tcmen.engine.train import FoldResult
from lfd_tcmen.metrics import confusion_matrix, score_table, summarize

METRICS = "metrics.json"
FOLD_TABLE = "folds.md"
CONFUSION = "confusion.png"
CURVES = "curves.png"
EMBEDDING = "embedding.png"
CODE_NAMES = ("motion", "identity")


def fold_probe(result: FoldResult, features: FeatureSet, seed: int) -> dict[str, Any] | None:
    """Identity-leakage probe of one fold on its TRAINING samples' codes (None: no codes).

    Returns ``{"motion": probe, "identity": probe}`` (the codes the model has) with
    ``report.probe.identity_leakage_probe`` results; a disentangled model recovers the subject
    from the identity code, not from the motion code.
    """
    names = [name for name in CODE_NAMES if f"train_{name}" in result.codes]
    if not names:
        return None
    from lfd_tcmen.report.probe import identity_leakage_probe

    subjects = [features.subjects[i] for i in result.train_index]
    return {
        name: _plain(identity_leakage_probe(result.codes[f"train_{name}"], subjects, seed=seed))
        for name in names
    }


def summarize_run(
    run_dir: Path,
    features: FeatureSet,
    config: ExperimentConfig,
    records: Sequence[outputs.FoldRecord],
    folds_total: int,
) -> dict[str, Any]:
    """Write predictions, metrics.json, the per-fold table and the figures; return the metrics."""
    protocol = config.train.protocol
    label = outputs.protocol_label(protocol)
    c = features.num_classes
    rows: list[dict[str, Any]] = []
    per_fold: list[dict[str, Any]] = []
    for rec in records:
        rows += outputs.prediction_rows(features, rec.test_index, rec.probs, protocol, fold=rec.name)
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
    outputs.write_csv(run_dir / outputs.predictions_name(protocol), rows)
    table = score_table(rows, num_classes=c)
    leakage = _leakage([rec.info.get("identity_leakage") for rec in records])
    metrics: dict[str, Any] = {
        "protocol": protocol,
        "name": config.name,
        "model": config.model.name,
        "seed": config.seed,
        "epochs": config.train.epochs,
        "folds_done": len(records),
        "folds_total": folds_total,
        "class_names": list(features.class_names),
        "overall": table["overall"],
        "per_dataset": table["per_dataset"],
        "per_fold": per_fold,
        "identity_leakage": leakage,
        "train_wall_s": round(sum(float(r.get("wall_s") or 0.0) for r in per_fold), 3),
        "predictions": outputs.predictions_name(protocol),
    }
    if records and all(f"test_{n}" in records[0].codes for n in CODE_NAMES):
        metrics["embedding"] = {
            "file": EMBEDDING,
            "model_of_fold": records[0].name,
            "samples": "all samples (that fold's training subjects and its held-out subject)",
        }
    if protocol != "honest":
        metrics["note"] = (
            "leaky: each fold's epoch was chosen on its test subject's labels; figures are optimistic"
        )
    outputs.write_json(run_dir / METRICS, metrics)
    _write_fold_table(run_dir / FOLD_TABLE, per_fold, table, label, config)
    _write_figures(run_dir, features, config, records, label)
    return metrics


def _leakage(probes: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Average the per-fold probes: {"motion": {...}, "identity": {...}, "folds": n}."""
    done = [p for p in probes if p]
    if not done:
        return {
            "available": False,
            "reason": "no probed fold: the model returns no identity/motion codes, or train.probe_folds left these folds out",
        }
    out: dict[str, Any] = {"available": True, "folds": len(done), "split": "each fold's training samples"}
    for name in CODE_NAMES:
        if not all(name in p for p in done):
            continue
        keys = [k for k, v in done[0][name].items() if isinstance(v, int | float) and not isinstance(v, bool)]
        out[name] = {k: float(np.mean([p[name][k] for p in done])) for k in keys}
    return out


def _write_fold_table(
    path: Path, per_fold: list[dict[str, Any]], table: dict[str, Any], label: str, config: ExperimentConfig
) -> None:
    from lfd_tcmen.report.tables import markdown_table

    cols = ["fold", "n", "uf1", "uar", "accuracy", "epoch", "n_train", "wall_s"]
    pooled = [{"dataset": "all", **table["overall"]}] + [
        {"dataset": k, **v} for k, v in table["per_dataset"].items()
    ]
    text = (
        f"# {config.name}: {config.model.name}, {label}\n\n"
        f"## Pooled scores (MEGC2019 definitions)\n\n{markdown_table(pooled, ['dataset', 'n', 'uf1', 'uar', 'accuracy'])}\n\n"
        f"## Per fold ({label})\n\n{markdown_table(per_fold, cols)}\n"
    )
    outputs.atomic_write_text(path, text)


def _write_figures(
    run_dir: Path,
    features: FeatureSet,
    config: ExperimentConfig,
    records: Sequence[outputs.FoldRecord],
    label: str,
) -> None:
    from lfd_tcmen.report.plots import plot_confusion, plot_curves

    index = np.concatenate([r.test_index for r in records])
    preds = np.concatenate([r.preds for r in records])
    cm = confusion_matrix(features.labels[index], preds, features.num_classes)
    plot_confusion(
        cm, features.class_names, run_dir / CONFUSION, title=f"{config.name}: {config.model.name} ({label})"
    )
    history = [{"fold": r.name, **row} for r in records for row in r.info.get("history", [])]
    if history:
        plot_curves(history, run_dir / CURVES, title=f"{config.name}: training ({label})")
    if records and all(f"test_{n}" in r.codes for n in CODE_NAMES for r in records) and len(features) >= 3:
        embedding_plot(
            run_dir,
            features,
            records[0].name,
            seed=config.seed,
            batch_size=config.train.eval_batch_size,
            title=f"{config.name} ({label})",
        )


def embedding_plot(
    run_dir: Path, features: FeatureSet, fold_name: str, seed: int, batch_size: int = 128, title: str = ""
) -> Path:
    """embedding.png: identity codes by subject beside motion codes by class, ONE model's codes.

    Codes of different folds' models live in different spaces (each fold trains its own
    encoders), so pooling every fold's test codes would cluster by fold, i.e. by subject, for
    any model. The plot therefore uses the model of ``fold_name`` on every sample: its training
    subjects and its held-out subject.
    """
    from lfd_tcmen.engine.checkpoint import load_checkpoint
    from lfd_tcmen.engine.train import evaluate
    from lfd_tcmen.report.plots import plot_embedding

    model = load_checkpoint(outputs.fold_dir(run_dir, fold_name) / outputs.MODEL).model
    out = evaluate(model, features, np.arange(len(features)), batch_size)
    return plot_embedding(
        out["identity_code"],
        out["motion_code"],
        features.subjects,
        features.labels,
        features.class_names,
        run_dir / EMBEDDING,
        seed=seed,
        title=f"{title}: model of fold {fold_name}" if title else f"model of fold {fold_name}",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
