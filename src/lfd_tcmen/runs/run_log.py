"""What a run folder's ``run.log`` says of a run (``lfd_tcmen.core.logs``): its settings, each fold as
it comes back (its epochs at debug level), its pooled scores. Written by the process that saves
the folds (``runs.experiment``), each record addressed to its run folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.training.fold import FoldResult

logger = logging.getLogger(__name__)


def log_settings(out: Path, config: ExperimentConfig, features: FeatureSet, how: str) -> None:
    """The run folder's opening line in its log: what runs on what data, and ``how`` (the folds,
    the workers)."""
    logger.info(
        "%s: %s (model %s, protocol %s, seed %d); %d samples, %d subjects; %s",
        out,
        config.name,
        config.model.name,
        config.train.protocol,
        config.seed,
        len(features),
        len(set(features.subjects)),
        how,
        extra={"runs": (out,), "console": False},
    )


def log_fold(out: Path, result: FoldResult, features: FeatureSet) -> None:
    """A finished fold in its run folder's log: each epoch's row of its history (debug), then
    the fold: its time, the epoch kept and its test samples' accuracy."""
    runs = {"runs": (out,)}
    for row in result.history:
        terms = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
        logger.debug("fold %s %s", result.fold, terms, extra=runs)
    tested = ""
    if len(result.test_index):
        accuracy = float((result.preds == features.labels[result.test_index]).mean())
        tested = f", {len(result.test_index)} test samples, accuracy {accuracy:.3f}"
    logger.info(
        "fold %s done in %.1f s: epoch %d of %d kept%s",
        result.fold,
        result.wall_s,
        result.epoch,
        len(result.history),
        tested,
        extra={**runs, "console": False},  # the console's progress bar counts it
    )


def scores_line(metrics: dict[str, Any]) -> str:
    """The run's pooled scores as its log's last line."""
    folds = f"folds {metrics.get('folds_done', 0)}/{metrics['folds_total']}"
    failed = [f["fold"] for f in metrics.get("failed_folds", [])]
    tail = f"; failed: {', '.join(failed)}" if failed else ""
    if "overall" not in metrics:
        return f"nothing scored; {folds}{tail}"
    o = metrics["overall"]
    return f"UF1 {o['uf1']:.4f}, UAR {o['uar']:.4f}, accuracy {o['accuracy']:.4f}, n {o['n']}; {folds}{tail}"
