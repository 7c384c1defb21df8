"""A finished run's analyses, computed once and handed to report/ to write: the training-sample
identity probe averaged over folds, the held-out identity probe, and the embedding's codes.

analysis = analyse_run(records, features, config)
summarize_run(run_dir, features, config, records, folds_total, analysis)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lfd_tcmen.analysis.embedding import FoldEmbedding, fold_embedding
from lfd_tcmen.analysis.heldout import heldout_probe
from lfd_tcmen.analysis.probe import CODE_NAMES, mean_leakage
from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.records import FoldRecord


@dataclass(frozen=True)
class RunAnalysis:
    """identity_leakage: ``mean_leakage`` of the folds' training-sample probes; identity_heldout:
    ``heldout_probe`` (None for a run that tests nothing); embedding: the first fold's model's
    codes of every sample (None when a fold's model has no codes or there are under 3 samples)."""

    identity_leakage: dict[str, Any]
    identity_heldout: dict[str, Any] | None
    embedding: FoldEmbedding | None


def analyse_run(records: Sequence[FoldRecord], features: FeatureSet, config: ExperimentConfig) -> RunAnalysis:
    """The analyses of a run's finished folds ``records`` (at least one)."""
    leakage = mean_leakage([rec.info.get("identity_leakage") for rec in records])
    if not any(len(rec.test_index) for rec in records):
        return RunAnalysis(leakage, None, None)
    heldout = heldout_probe(records, features, config)
    embedding = None
    if all(f"test_{n}" in r.codes for n in CODE_NAMES for r in records) and len(features) >= 3:
        embedding = fold_embedding(records[0], features, config.train.eval_batch_size)
    return RunAnalysis(leakage, heldout, embedding)
